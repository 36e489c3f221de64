/**
 * Process crashes under load, on one stack with three dispatchers:
 *  5. SIGKILL of one dispatcher mid-run: nothing lost, nothing sent twice;
 *  6. Redis restarted mid-run (AOF on): no accepted message lost, every service reconnects by itself;
 *  8. SIGTERM of the gateway under load: requests already written are answered, every 200 has its
 *     row, and no stored request is half-written (each has a job or is final).
 */
import { clientsFor } from '../src/clients';
import { isFailure, request } from '../src/http.client';
import {
  eventually,
  openQueue,
  readRequestsFromDb,
  sendPaced,
  sleep,
  statusHistogram,
  sumOf,
  waitUntilAllFinal,
  type SendRecord,
} from '../src/scenario.helpers';
import { PROVIDERS, useStack, withLogs } from '../src/stack.fixture';

const stack = useStack({
  label: 'crashes',
  dispatchers: 3,
  env: {
    PROVIDER_RATE_LIMIT: '50',
    MOCK_RATE_LIMIT: '50',
    // Provider answers take 20-60 ms, so sends are in flight when a process dies.
    MOCK_LATENCY_MS: '20',
    MOCK_JITTER_MS: '40',
    // A killed dispatcher's jobs are taken over after about 1.5 x the lock.
    DISPATCHER_LOCK_MS: '2000',
    SWEEP_INTERVAL_MS: '1000',
    SWEEP_AFTER_MS: '3000',
  },
});

const okIds = (records: SendRecord[]) => records.filter((r) => r.id).map((r) => r.id as string);

async function acceptedOnce(mocks: ReturnType<typeof clientsFor>['mocks'], ids: string[]) {
  const counts = new Map<string, number>();
  for (const p of PROVIDERS) for (const id of await mocks.accepted(p)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return {
    missing: ids.filter((id) => !counts.has(id)).length,
    twice: [...counts.entries()].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`),
    duplicates: sumOf(await mocks.allStats(), 'duplicates'),
  };
}

async function allHealthy(): Promise<Record<string, number>> {
  const s = stack();
  const urls: Record<string, string> = { gateway: `${s.gatewayUrl}/health`, 'health-monitor': `${s.monitorUrl}/health` };
  s.dispatcherUrls.forEach((u, i) => (urls[`dispatcher-${i + 1}`] = `${u}/health`));
  const out: Record<string, number> = {};
  for (const [name, url] of Object.entries(urls)) {
    const r = await request(url, { timeoutMs: 3000, agent: false });
    out[name] = isFailure(r) ? 0 : r.status;
  }
  return out;
}

describe('process crashes under load', () => {
  beforeEach(async () => {
    await clientsFor(stack()).mocks.resetAll();
  });

  it(
    'loses nothing and sends nothing twice when a dispatcher is SIGKILLed mid-run',
    withLogs(stack, async () => {
      const s = stack();
      const { gateway, mocks } = clientsFor(s);
      const killer = sleep(2500).then(() => s.handle.kill('dispatcher-2', 'SIGKILL'));
      try {
        const run = await sendPaced(gateway, { rate: 100, durationMs: 6000, label: 'kill-dispatcher', timeoutMs: 60000 });
        await killer;
        expect(s.handle.processes['dispatcher-2'].signal).toBe('SIGKILL');
        expect(statusHistogram(run.records)).toEqual({ '200': run.records.length });
        const ids = okIds(run.records);
        const rows = await waitUntilAllFinal(gateway, ids, 90000);
        expect([...rows.values()].filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.status} ${r.last_error}`)).toEqual([]);
        // "twice" catches a message accepted by two providers, "duplicates" one accepted twice by the same provider.
        const once = await acceptedOnce(mocks, ids);
        if (once.twice.length) {
          // Show what the gateway stored about the messages sent twice (the failure message carries it).
          for (const t of once.twice.slice(0, 3)) once.twice.push(JSON.stringify(await gateway.getRequest(t.split(' ')[0])));
        }
        expect(once).toEqual({ missing: 0, twice: [], duplicates: 0 });
      } finally {
        await killer;
        await s.handle.start('dispatcher-2');
      }
    }),
  );

  it(
    'loses no accepted message across a Redis restart, and every service reconnects by itself',
    withLogs(stack, async () => {
      const s = stack();
      const { gateway, mocks } = clientsFor(s);
      const restart = (async () => {
        await sleep(3000);
        // SIGTERM: Redis fsyncs the AOF on a clean shutdown, so every acknowledged write survives.
        await s.handle.kill('redis', 'SIGTERM');
        await sleep(2000);
        await s.handle.start('redis');
      })();
      const run = await sendPaced(gateway, { rate: 50, durationMs: 10000, label: 'redis-restart', timeoutMs: 60000 });
      await restart;
      const hist = statusHistogram(run.records);
      // While Redis is away a send cannot be queued: 503, never a 500 or a dropped connection.
      expect(Object.keys(hist).filter((k) => k !== '200' && k !== '503')).toEqual([]);
      expect(hist['200']).toBeGreaterThan(0);

      // Every service comes back without being restarted.
      const back = Date.now();
      await eventually('every /health to answer 200 again', async () => Object.values(await allHealthy()).every((c) => c === 200), 30000, 500);
      const recoveredMs = Date.now() - back;
      expect(s.unexpectedExits).toEqual([]);

      // Sending resumes.
      const after = await sendPaced(gateway, { rate: 20, durationMs: 2000, label: 'after-redis', timeoutMs: 60000 });
      expect(statusHistogram(after.records)).toEqual({ '200': after.records.length });

      const ids = [...okIds(run.records), ...okIds(after.records)];
      const rows = await waitUntilAllFinal(gateway, ids, 90000);
      expect([...rows.values()].filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.status} ${r.last_error}`)).toEqual([]);
      expect(await acceptedOnce(mocks, ids)).toEqual({ missing: 0, twice: [], duplicates: 0 });
      process.stderr.write(`[e2e:crashes] redis restart: answers ${JSON.stringify(hist)}, all /health green ${recoveredMs} ms after the load ended\n`);
    }),
  );

  it(
    'answers every request written before a SIGTERM of the gateway, stores every 200, and leaves no half-written request',
    withLogs(stack, async () => {
      const s = stack();
      const { gateway } = clientsFor(s);
      let signalAt = 0;
      const stop = { stop: false };
      const terminator = (async () => {
        await sleep(2000);
        signalAt = Date.now();
        await s.handle.kill('gateway', 'SIGTERM');
        stop.stop = true;
      })();
      const run = await sendPaced(gateway, { rate: 80, durationMs: 8000, label: 'gateway-sigterm', stopSignal: stop, timeoutMs: 60000 });
      await terminator;
      const gw = s.handle.processes.gateway;
      expect({ code: gw.exitCode, signal: gw.signal }).toEqual({ code: 0, signal: null });

      // Requests written before the signal got an HTTP answer; only later ones may be refused.
      const before = run.records.filter((r) => r.at < signalAt);
      const unanswered = before.filter((r) => isFailure(r.result));
      expect(before.length).toBeGreaterThan(50);
      const late = run.records.filter((r) => r.at >= signalAt && !isFailure(r.result));
      expect(late.filter((r) => !isFailure(r.result) && ![200, 503].includes(r.result.status)).map((r) => (r.result as { status: number }).status)).toEqual([]);

      // With the gateway down, read the database and the queue directly: every stored request is
      // final or has its job (the write and the enqueue are not split by a shutdown).
      const stored = readRequestsFromDb(s);
      const storedIds = new Set(stored.map((r) => r.id));
      const ok = okIds(run.records);
      expect(ok.filter((id) => !storedIds.has(id))).toEqual([]);
      const queue = openQueue(s);
      try {
        const orphans: string[] = [];
        for (const row of stored) {
          if (row.status === 'sent' || row.status === 'failed') continue;
          if (!(await queue.getJob(row.id))) orphans.push(`${row.id} (${row.status})`);
        }
        expect(orphans).toEqual([]);
      } finally {
        await queue.close();
      }

      await s.handle.start('gateway');
      const all = [...storedIds];
      const rows = await waitUntilAllFinal(gateway, all, 90000);
      expect([...rows.values()].filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.status}`)).toEqual([]);
      const storedTexts = new Set(stored.map((r) => r.text));
      const resetBeforeSignal = unanswered.map(
        (r) =>
          `#${r.i} written ${signalAt - r.at} ms before the signal, failed after ${isFailure(r.result) ? `${Math.round(r.result.ms)} ms: ${r.result.code ?? r.result.error}` : ''}` +
          (storedTexts.has(r.text) ? ' (stored anyway)' : ' (not stored)'),
      );
      process.stderr.write(
        `[e2e:crashes] gateway SIGTERM: ${before.length} written before the signal (${unanswered.length} unanswered), ${ok.length} answered 200, answers ${JSON.stringify(statusHistogram(run.records))}\n`,
      );
      // Last, so that every other invariant above is checked in each run.
      expect(resetBeforeSignal).toEqual([]);
    }),
  );
});
