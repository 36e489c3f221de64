/**
 * Provider-side faults and the ingest limit, on one stack with a small ingest limit:
 *  2. a burst of twice the ingest limit: the excess is refused with 429 + Retry-After, every
 *     accepted message ends sent;
 *  3. a provider goes down mid-run: fail-over, nothing lost, the health state shows it unavailable;
 *  4. every provider fails half the time (the original mock): each message ends sent or failed
 *     with its reason within MAX_ATTEMPTS, none stays open;
 *  7. the health monitor killed: sending goes on; restarted: it rebuilds the state from the stream.
 */
import { clientsFor, type SmsRequestDetail } from '../src/clients';
import { isFailure, request, type HttpResult } from '../src/http.client';
import {
  eventually,
  getDetails,
  sendBurst,
  sendPaced,
  sleep,
  statusHistogram,
  sumOf,
  waitUntilAllFinal,
  type SendRecord,
} from '../src/scenario.helpers';
import { PROVIDERS, useStack, withLogs, type ProviderId } from '../src/stack.fixture';

// A long ingest window, so that a burst is answered inside one window even on a loaded machine.
const INGEST_LIMIT = 100;
const INGEST_WINDOW_MS = 5000;
const MAX_ATTEMPTS = 3;
/** Paced sends stay well under the ingest limit (60 per 5 s window against 100). */
const RATE = 12;

const stack = useStack({
  label: 'providers',
  dispatchers: 2,
  env: {
    INGEST_RATE_LIMIT: String(INGEST_LIMIT),
    INGEST_RATE_WINDOW_MS: String(INGEST_WINDOW_MS),
    PROVIDER_RATE_LIMIT: '50',
    MOCK_RATE_LIMIT: '50',
    MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    RETRY_BASE_DELAY_MS: '100',
    // Short health windows so that a dead provider is noticed in seconds. The threshold sits well
    // above the 50% random failures of scenario 4, so only a provider that is really down trips it.
    HEALTH_WINDOW_MS: '5000',
    HEALTH_MIN_SAMPLES: '10',
    HEALTH_FAILURE_THRESHOLD: '0.85',
    HEALTH_COOLDOWN_MS: '2000',
    HEALTH_MAX_COOLDOWN_MS: '4000',
    HEALTH_EVAL_INTERVAL_MS: '200',
    HEALTH_LEASE_MS: '1000',
  },
});

const okIds = (records: SendRecord[]) => records.filter((r) => r.id).map((r) => r.id as string);

/** Every accepted message id, over the three mocks, with how many times each was accepted. */
async function acceptedCounts(mocks: ReturnType<typeof clientsFor>['mocks']): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const p of PROVIDERS) for (const id of await mocks.accepted(p)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

async function gatewayState(gateway: ReturnType<typeof clientsFor>['gateway'], provider: ProviderId): Promise<{ state: string; is_healthy: boolean } | undefined> {
  const r = await gateway.providersHealth();
  return r.status === 200 ? r.json?.providers?.[provider] : undefined;
}

async function allUp(): Promise<void> {
  const { mocks } = clientsFor(stack());
  await Promise.all(PROVIDERS.map((p) => mocks.setMode(p, 'up').then(() => mocks.configure(p, { failure_rate: 0, latency_ms: 0, jitter_ms: 0 }))));
  await mocks.resetAll();
}

describe('ingest limit, provider faults and the health monitor', () => {
  beforeEach(async () => {
    await allUp();
  });

  it(
    'fails over when a provider goes down mid-run: nothing is lost, and both the gateway and the monitor show the provider unavailable',
    withLogs(stack, async () => {
      const { gateway, mocks, monitor } = clientsFor(stack());
      const down: ProviderId = 'provider2';
      const seen = { gateway: new Set<string>(), monitor: new Set<string>() };
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          try {
            const g = await gatewayState(gateway, down);
            if (g) seen.gateway.add(g.is_healthy ? `healthy:${g.state}` : `unhealthy:${g.state}`);
            const m = await monitor.stateOf(down);
            if (m) seen.monitor.add(m);
          } catch {
            // a missed look; the next one counts
          }
          await sleep(200);
        }
      })();
      let run;
      try {
        const switcher = sleep(3000).then(() => mocks.setMode(down, 'down'));
        run = await sendPaced(gateway, { rate: RATE, durationMs: 12000, label: 'failover', timeoutMs: 60000 });
        await switcher;
        // Both views must report it unavailable while it is still down.
        await eventually(
          `${down} unavailable in the monitor and the gateway`,
          async () => (await monitor.stateOf(down)) === 'unavailable' && (await gatewayState(gateway, down))?.is_healthy === false,
          15000,
        );
      } finally {
        watching = false;
        await watcher;
      }
      expect(statusHistogram(run.records)).toEqual({ '200': run.records.length });
      expect(seen.monitor.has('unavailable')).toBe(true);
      expect(seen.gateway.has('unhealthy:unavailable')).toBe(true);

      const ids = okIds(run.records);
      const rows = await waitUntilAllFinal(gateway, ids, 60000);
      expect([...rows.values()].filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.status} ${r.last_error}`)).toEqual([]);
      const details = await getDetails(gateway, ids);
      // Fail-over really happened: some messages met the dead provider (a 5xx from it) and were
      // then sent by another; no message ended "sent" through the dead provider after it died.
      const failedOver = [...details.values()].filter((d) => d.responses.some((r) => r.provider === down && r.status_code !== null && r.status_code >= 500));
      expect(failedOver.length).toBeGreaterThan(0);
      expect(failedOver.filter((d) => d.provider === down).map((d) => d.id)).toEqual([]);
      // Each message accepted exactly once over the three providers (no loss, no double send).
      const accepted = await acceptedCounts(mocks);
      expect(ids.filter((id) => accepted.get(id) !== 1).map((id) => `${id} x${accepted.get(id) ?? 0}`)).toEqual([]);
      const stats = await mocks.allStats();
      expect(sumOf(stats, 'duplicates')).toBe(0);

      // Back up: the monitor probes and lets it recover (probes need traffic, so keep a trickle).
      await mocks.setMode(down, 'up');
      let trickling = true;
      const trickle = (async () => {
        while (trickling) {
          await gateway.send('01711000999', 'recovery probe traffic');
          await sleep(100);
        }
      })();
      try {
        await eventually(`${down} available again`, async () => (await monitor.stateOf(down)) === 'available', 30000);
        await eventually(`${down} healthy again at the gateway`, async () => (await gatewayState(gateway, down))?.is_healthy === true, 10000);
      } finally {
        trickling = false;
        await trickle;
      }
    }),
  );

  it(
    `ends every message sent or failed (with its reason) within ${MAX_ATTEMPTS} attempts when every provider fails half the time`,
    withLogs(stack, async () => {
      const { gateway, mocks } = clientsFor(stack());
      await Promise.all(PROVIDERS.map((p) => mocks.configure(p, { failure_rate: 0.5 })));
      await mocks.resetAll();
      const run = await sendPaced(gateway, { rate: RATE, durationMs: 8000, label: 'flaky', timeoutMs: 60000 });
      expect(statusHistogram(run.records)).toEqual({ '200': run.records.length });
      const ids = okIds(run.records);
      const rows = await waitUntilAllFinal(gateway, ids, 90000);
      const details = await getDetails(gateway, ids);

      const bad: string[] = [];
      const check = (d: SmsRequestDetail, ok: boolean, why: string) => {
        if (!ok) bad.push(`${d.id} (${d.status}, attempts ${d.attempts}, ${d.responses.length} responses): ${why}`);
      };
      let sent = 0;
      let failed = 0;
      for (const d of details.values()) {
        check(d, d.attempts <= MAX_ATTEMPTS, `attempts above MAX_ATTEMPTS`);
        check(d, d.responses.length <= MAX_ATTEMPTS, 'more stored answers than MAX_ATTEMPTS');
        check(d, d.responses.length === d.attempts, 'attempts differ from stored answers');
        const successes = d.responses.filter((r) => r.status_code === 200);
        if (d.status === 'sent') {
          sent += 1;
          check(d, successes.length === 1, 'a sent message must have exactly one accepted answer');
          check(d, d.responses[d.responses.length - 1]?.status_code === 200, 'the accepted answer must be the last one');
          check(d, d.provider === successes[0]?.provider, 'provider differs from the provider that accepted');
        } else if (d.status === 'failed') {
          failed += 1;
          check(d, successes.length === 0, 'a failed message has an accepted answer');
          check(d, typeof d.last_error === 'string' && d.last_error.length > 0, 'a failed message must say why');
          // Random 500s are transient: the message is failed only after its last attempt.
          check(d, d.attempts === MAX_ATTEMPTS, 'failed before spending MAX_ATTEMPTS on transient errors');
        } else {
          check(d, false, 'not final');
        }
      }
      expect(bad.slice(0, 10)).toEqual([]);
      expect(sent + failed).toBe(rows.size);
      // With p = 0.5 per attempt and 3 attempts, about 1 in 8 fails: both outcomes must occur.
      expect(sent).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(0);

      // The mocks agree with the stored answers: one accepted send per sent message, a 500 for each
      // stored failure, no duplicates.
      const stats = await mocks.allStats();
      const stored500 = [...details.values()].reduce((n, d) => n + d.responses.filter((r) => r.status_code === 500).length, 0);
      expect({ accepted: sumOf(stats, 'accepted'), failed: sumOf(stats, 'failed'), duplicates: sumOf(stats, 'duplicates') }).toEqual({
        accepted: sent,
        failed: stored500,
        duplicates: 0,
      });
      process.stderr.write(`[e2e:providers] flaky: ${rows.size} messages, ${sent} sent, ${failed} failed, ${stored500} provider 500s\n`);
    }),
  );

  it(
    'keeps sending while the health monitor is dead, and a restarted monitor rebuilds the state from the outcome stream',
    withLogs(stack, async () => {
      const s = stack();
      const { gateway, mocks, monitor } = clientsFor(s);
      // Start from a known state: the random failures of the previous scenario may have tripped one.
      for (const p of PROVIDERS) {
        const r = await request(`${s.gatewayUrl}/api/sms/health/${p}/reset`, { method: 'POST', headers: gateway.adminAuth() });
        expect(isFailure(r) ? r.error : r.status).toBe(200);
      }
      await eventually('every provider available', async () => (await monitor.status())?.providers.every((p) => p.state === 'available'), 10000);
      await s.handle.kill('health-monitor', 'SIGKILL');

      // Dead monitor: sends go on (the stored states are fresh or count as available).
      const first = await sendPaced(gateway, { rate: RATE, durationMs: 3000, label: 'no-monitor', timeoutMs: 60000 });
      expect(statusHistogram(first.records)).toEqual({ '200': first.records.length });
      const healthWhileDead = await gateway.providersHealth();
      expect(healthWhileDead.status).toBe(200);

      // provider3 dies while nobody watches; its failures pile up in the outcome stream.
      await mocks.setMode('provider3', 'down');
      let sending = true;
      const background: SendRecord[] = [];
      const loop = (async () => {
        while (sending) {
          const r = await sendPaced(gateway, { rate: RATE, durationMs: 1000, label: 'monitor-restart', timeoutMs: 60000 });
          background.push(...r.records);
        }
      })();
      try {
        await sleep(1500);
        await s.handle.start('health-monitor');
        await eventually('the restarted monitor to mark provider3 unavailable', async () => (await monitor.stateOf('provider3')) === 'unavailable', 20000);
        await eventually(
          'the gateway to show provider3 unavailable',
          async () => (await gatewayState(gateway, 'provider3'))?.is_healthy === false,
          10000,
        );
        const st = await monitor.status();
        expect(st?.leader).toBe(true);
      } finally {
        sending = false;
        await loop;
      }
      expect(statusHistogram(background)).toEqual({ '200': background.length });
      const ids = [...okIds(first.records), ...okIds(background)];
      const rows = await waitUntilAllFinal(gateway, ids, 60000);
      expect([...rows.values()].filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.status} ${r.last_error}`)).toEqual([]);
      expect(s.unexpectedExits).toEqual([]);
    }),
  );
  it(
    `answers 429 with Retry-After to the excess of a burst of ${2 * INGEST_LIMIT} sends, stores none of them, and sends every accepted one`,
    withLogs(stack, async () => {
      const { gateway, mocks } = clientsFor(stack());
      // A fresh ingest window: the previous scenarios spent part of the current one.
      await sleep(INGEST_WINDOW_MS + 200);
      const rowsBefore = (await gateway.listAll()).length;
      const t0 = Date.now();
      const records = await sendBurst(gateway, 2 * INGEST_LIMIT, 'burst');
      const burstMs = Date.now() - t0;
      const hist = statusHistogram(records);
      // The limiter is a window of INGEST_WINDOW_MS that starts at the first send after a quiet
      // period; a burst answered within one window must get exactly the limit through.
      expect(burstMs).toBeLessThan(INGEST_WINDOW_MS);
      expect(hist).toEqual({ '200': INGEST_LIMIT, '429': INGEST_LIMIT });

      for (const r of records.filter((x) => !isFailure(x.result) && x.result.status === 429)) {
        const res = r.result as HttpResult;
        const retryAfter = Number(res.headers['retry-after']);
        expect({ retryAfterIsWholeSeconds: Number.isInteger(retryAfter), inWindow: retryAfter >= 1 && retryAfter <= INGEST_WINDOW_MS / 1000 }).toEqual({
          retryAfterIsWholeSeconds: true,
          inWindow: true,
        });
        expect(res.headers['ratelimit'] ?? res.headers['ratelimit-remaining']).toBeDefined();
        expect(res.json).toMatchObject({ status: 429, code: expect.stringMatching(/^[A-Z_]+\.[A-Z_]+$/), details: { limit: INGEST_LIMIT } });
        expect(res.json.details.current_count).toBeGreaterThan(INGEST_LIMIT);
      }

      const ids = okIds(records);
      const rows = await waitUntilAllFinal(gateway, ids, 60000);
      expect([...rows.values()].filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.status} ${r.last_error}`)).toEqual([]);
      // Refused sends left nothing behind: exactly the accepted ones were stored and sent.
      expect((await gateway.listAll()).length - rowsBefore).toBe(INGEST_LIMIT);
      const accepted = await acceptedCounts(mocks);
      expect(ids.filter((id) => accepted.get(id) !== 1)).toEqual([]);
    }),
  );

});
