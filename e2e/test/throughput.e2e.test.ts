/**
 * Scenario 1: sustained load at the binding limit with three dispatchers — every message sent,
 * no provider ever sees more than its limit in any 1-second interval, no global violation, and the
 * dispatch rate keeps up with >= 95% of the binding limit.
 */
import { clientsFor } from '../src/clients';
import { isFailure } from '../src/http.client';
import {
  busyDispatchRate,
  getDetails,
  maxInAnyWindow,
  sendPaced,
  sleep,
  statusHistogram,
  sumOf,
  waitUntilAllFinal,
} from '../src/scenario.helpers';
import { PROVIDERS, useStack, withLogs } from '../src/stack.fixture';

const PROVIDER_LIMIT = 50;
const TOTAL_LIMIT = 200;
const RATE = 150; // messages per second offered
const DURATION_MS = 20000;
/** min(TOTAL_RATE_LIMIT, sum of the providers' limits). */
const BINDING_LIMIT = Math.min(TOTAL_LIMIT, PROVIDERS.length * PROVIDER_LIMIT);
/** Messages waiting at the start of a 200 ms sample for it to count as busy: more than one sample's worth at the limit. */
const MIN_BACKLOG = 50;

// Window counts on a shared 2-core CI host running the whole stack: one retry, logged, with the
// mocks reset and new messages; a regression fails twice.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const stack = useStack({
  label: 'throughput',
  dispatchers: 3,
  env: {
    PROVIDER_RATE_LIMIT: String(PROVIDER_LIMIT),
    MOCK_RATE_LIMIT: String(PROVIDER_LIMIT),
    TOTAL_RATE_LIMIT: String(TOTAL_LIMIT),
    // This scenario is about the dispatch limits; the ingest limit has its own scenario. At its
    // default (TOTAL_RATE_LIMIT, 200 per fixed 1 s window) a loaded gateway that falls behind and then
    // processes a backlog counts more than 200 hits in one window although the client offers 150/s
    // evenly (26 of 3000 were refused in one run; see FINDINGS.md), so it is lifted here.
    INGEST_RATE_LIMIT: '1000',
  },
});

describe('sustained load at the binding rate limit (3 dispatchers)', () => {
  it(
    `sends every one of ${(RATE * DURATION_MS) / 1000} messages offered at ${RATE}/s with no provider above ${PROVIDER_LIMIT} in any 1 s window and dispatch >= 95% of ${BINDING_LIMIT}/s`,
    withLogs(stack, async () => {
      const { gateway, mocks } = clientsFor(stack());
      await mocks.resetAll();

      // Accepted sends at the mocks over time, for the dispatch rate.
      const samples: Array<{ t: number; accepted: number }> = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          try {
            const all = await mocks.allStats();
            samples.push({ t: Date.now(), accepted: sumOf(all, 'accepted') });
          } catch {
            // a missed sample only coarsens the rate; the counts below are read again
          }
          await sleep(200);
        }
      })();
      try {
        const run = await sendPaced(gateway, { rate: RATE, durationMs: DURATION_MS, label: 'load', timeoutMs: 60000 });
        const sentAt = Date.now();
        const hist = statusHistogram(run.records);
        expect({ offered: run.records.length, answers: hist }).toEqual({ offered: (RATE * DURATION_MS) / 1000, answers: { '200': run.records.length } });
        const ids = run.records.map((r) => r.id as string);
        expect(new Set(ids).size).toBe(ids.length);

        const rows = await waitUntilAllFinal(gateway, ids, 90000);
        const drainedAt = Date.now();
        sampling = false;
        await sampler;

        const stats = await mocks.allStats();
        const acceptedIds = (await Promise.all(PROVIDERS.map((p) => mocks.accepted(p)))).flat();
        const details = await getDetails(gateway, ids);
        const answers = [...details.values()].flatMap((d) => d.responses);
        // Every stored answer is one request that reached a provider: send time = answer - latency.
        const globalPeak = maxInAnyWindow(answers.map((a) => Date.parse(a.created_at) - a.latency_ms));
        const nonSuccess: Record<string, number> = {};
        for (const a of answers.filter((x) => x.status_code !== 200)) {
          const key = `${a.provider}:${a.outcome}:${a.error ?? a.status_code}`;
          nonSuccess[key] = (nonSuccess[key] ?? 0) + 1;
        }
        const multi = [...details.values()].filter((d) => d.responses.length !== 1);

        // Dispatch rate while the queue was busy: from 5% to 95% of all accepted sends.
        const total = ids.length;
        const at = (fraction: number) => samples.find((x) => x.accepted >= fraction * total);
        const lo = at(0.05);
        const hi = at(0.95);
        const dispatchRate = lo && hi && hi.t > lo.t ? ((hi.accepted - lo.accepted) * 1000) / (hi.t - lo.t) : 0;
        // The dispatchers' rate while they had work, next to the 5-95% figure: offered at the limit,
        // a queue run dry by a stalled gateway would measure the gateway, not the dispatch. The
        // dispatchers now mostly keep up with the offer, so busy_ms is short (0-10 s of the 20 s).
        const gatewayAcceptedAt = run.records.filter((r) => r.id !== undefined).map((r) => r.at + r.result.ms);
        const busy = busyDispatchRate(samples, gatewayAcceptedAt, MIN_BACKLOG);
        const latencies = run.records.map((r) => (isFailure(r.result) ? Infinity : r.result.ms)).sort((a, b) => a - b);
        const report = {
          offered_rate: Number(run.offeredRate.toFixed(1)),
          dispatch_rate_while_busy: Number(busy.perSecond.toFixed(1)),
          busy_ratio: Number((busy.perSecond / BINDING_LIMIT).toFixed(3)),
          busy_ms: busy.busyMs,
          dispatch_rate_5_to_95_pct: Number(dispatchRate.toFixed(1)),
          binding_limit: BINDING_LIMIT,
          ratio_5_to_95_pct: Number((dispatchRate / BINDING_LIMIT).toFixed(3)),
          per_provider_peak_1s: Object.fromEntries(PROVIDERS.map((p) => [p, stats[p].max_in_any_1s_window])),
          global_peak_1s_from_send_times: globalPeak.max,
          drain_after_last_send_ms: drainedAt - sentAt,
          ingest_p50_ms: Math.round(latencies[Math.floor(latencies.length / 2)]),
          ingest_p99_ms: Math.round(latencies[Math.floor(latencies.length * 0.99)]),
          messages_with_retries: multi.length,
          non_success_answers: nonSuccess,
        };
        process.stderr.write(`[e2e:throughput] ${JSON.stringify(report)}\n`);

        const notSent = [...rows.values()].filter((r) => r.status !== 'sent');
        expect(notSent.map((r) => `${r.id}: ${r.status} ${r.last_error}`)).toEqual([]);

        // The providers' own counts: each saw at most its limit in any 1-second interval, nothing was
        // throttled (so the limiter, not the mock, held the rate), nothing failed, no message twice.
        const view = PROVIDERS.map((id) => ({
          provider: id,
          peak_within_limit: stats[id].max_in_any_1s_window <= PROVIDER_LIMIT,
          peak: stats[id].max_in_any_1s_window,
          throttled: stats[id].throttled,
          failed: stats[id].failed,
          duplicates: stats[id].duplicates,
        }));
        expect(view).toEqual(
          PROVIDERS.map((id) => ({ provider: id, peak_within_limit: true, peak: expect.any(Number), throttled: 0, failed: 0, duplicates: 0 })),
        );
        expect(sumOf(stats, 'accepted')).toBe(ids.length);
        expect(acceptedIds.length).toBe(ids.length);
        expect(new Set(acceptedIds)).toEqual(new Set(ids));

        // Global: with 3 x 50 < 200 the global limit cannot bind here; it is still checked on two
        // independent measures: the per-provider peaks summed (an upper bound of any window's total)
        // and the send times of every stored answer.
        expect(PROVIDERS.reduce((n, p) => n + stats[p].max_in_any_1s_window, 0)).toBeLessThanOrEqual(TOTAL_LIMIT);
        expect(globalPeak.max).toBeLessThanOrEqual(TOTAL_LIMIT);

        // Healthy, unthrottled providers: every message goes through in one attempt, and the
        // provider a request names is the one whose answer is stored.
        expect({ messages_with_retries: multi.length, non_success_answers: nonSuccess }).toEqual({ messages_with_retries: 0, non_success_answers: {} });
        expect([...details.values()].filter((d) => d.responses[0]?.provider !== d.provider).map((d) => d.id)).toEqual([]);

        // DESIGN.md asks 95%. A slot is reused one window after its send's answer (1 s + 5 ms
        // margin + the answer's latency), so this can reach ~99%; measured 98.2-98.7% on this 2-core
        // host (CI runs included), 98.2% with a busy loop taking one core, 95.2% once while apt-get
        // was installing packages alongside.
        expect(dispatchRate).toBeGreaterThanOrEqual(0.95 * BINDING_LIMIT);
      } finally {
        sampling = false;
        await sampler;
      }
    }),
    240000,
  );
});
