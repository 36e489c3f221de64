/**
 * End-to-end rate-limit accuracy at the default limits: a full stack (own Redis on a free port, 3
 * dispatchers, PROVIDER_RATE_LIMIT=50, TOTAL_RATE_LIMIT=200, mocks limited at MOCK_RATE_LIMIT=50)
 * started once through the e2e fixture (scripts/launcher.js), then per repeat: the queue paused, a
 * backlog enqueued through the gateway API as fast as it answers (ingest limit lifted), the queue
 * resumed and drained by the dispatchers. Pausing makes it a real backlog (all of it queued before the
 * first send) and keeps the gateway's CPU out of the drain: on a small machine, enqueueing while
 * dispatching measures the two competing for the cores.
 *
 * Measured per repeat:
 *   - drain rate from the send times of every attempt that reached a provider (stored answer time
 *     minus its latency, read from the stack's SQLite file): first-to-last, (accepted - 1) / span,
 *     and window-corrected, accepted / (span + 1 s) — a limiter that lets exactly L through in
 *     every 1 s window drains N messages in N/L windows, so first-to-last overstates the rate by
 *     one window (N=3000 at 150/s: at most 105%), while the corrected figure is at most 100%;
 *   - each mock's own max_in_any_1s_window (counted on arrival) vs its limit, throttled (429) and
 *     failed counts; the most sends in any 1 s window over all providers vs TOTAL_RATE_LIMIT.
 * Repeats run on the same stack (mocks reset between them) while the time budget allows.
 */
import Database from 'better-sqlite3';
import { sendRate } from '@twillow/testing';
import { clientsFor, phoneFor } from '../../e2e/src/clients';
import { isFailure } from '../../e2e/src/http.client';
import { maxInAnyWindow, openQueue, sleep, sumOf } from '../../e2e/src/scenario.helpers';
import { PROVIDERS, startE2EStack, type E2EStack, type ProviderId } from '../../e2e/src/stack.fixture';
import { type Series, series } from './stats';

export const PROVIDER_LIMIT = 50;
export const TOTAL_LIMIT = 200;
export const BINDING_LIMIT = Math.min(TOTAL_LIMIT, PROVIDERS.length * PROVIDER_LIMIT);

export interface AccuracyOptions {
  backlog: number;
  /** Most repeats; fewer when the budget runs out (at least 1). */
  repeats: number;
  /** Seconds the repeats may take together (stack start-up not included); a repeat starts only if the last one's duration still fits. */
  budgetS: number;
  /** Requests in flight while enqueueing. */
  connections: number;
  log: (line: string) => void;
}

export interface ProviderFigures {
  /** The mock's own max_in_any_1s_window (arrivals, throttled included). */
  peak1s: number;
  /** Most attempts to this provider in any 1 s interval by the dispatchers' send start times (stored answer time - latency). */
  sendSidePeak1s: number;
  limit: number;
  accepted: number;
  throttled: number;
  failed: number;
}

export interface AccuracyRepeat {
  /** Answers of the enqueue requests by status ("200", "429", "transport:ECONNRESET"...). */
  enqueueAnswers: Record<string, number>;
  enqueued: number;
  enqueueS: number;
  /** Offered enqueue rate: accepted / enqueueS. */
  enqueueRate: number;
  /** Messages accepted by the mocks (= delivered). */
  delivered: number;
  /** Sends that reached a provider (all attempts, throttled included). */
  attempts: number;
  drainSpanS: number;
  /** (delivered - 1) / span: messages/s from the first to the last send. */
  drainRateFirstToLast: number;
  /** delivered / (span + 1 s): the window-corrected drain rate. */
  drainRateWindowed: number;
  /** Between the 5% and the 95% send: the steady rate, without start-up and tail. */
  drainRateSustained: number;
  /** Messages still not final when the wait ran out (0 when the backlog drained). */
  notFinal: number;
  providers: Record<ProviderId, ProviderFigures>;
  /** Most sends (all providers) in any 1 s interval, from the stored send times. */
  globalPeak1s: number;
  durationS: number;
}

export interface AccuracyResult {
  backlog: number;
  dispatchers: number;
  limits: { provider: number; total: number; binding: number; mock: number };
  repeats: AccuracyRepeat[];
  stackStartS: number;
  /** Medians over the repeats. */
  drainRateFirstToLast: Series;
  drainRateWindowed: Series;
  drainRateSustained: Series;
  /** Highest per-provider peak over every repeat and provider (a maximum, not a median: one breach is a breach). */
  worstProviderPeak1s: number;
  worstGlobalPeak1s: number;
  throttledTotal: number;
  failedTotal: number;
  ratioWindowed: number;
  ratioSustained: number;
  ratioFirstToLast: number;
  targets: { drainRatioAtLeast: number; aimRatio: number; peakAtMost: number; drainMet: boolean; peakMet: boolean; met: boolean };
}

interface ResponseRow {
  request_id: string;
  provider: string;
  status_code: number | null;
  latency_ms: number;
  created_at: string | number;
}

function readResponses(stack: E2EStack): ResponseRow[] {
  const db = new Database(stack.databaseFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare('SELECT request_id, provider, status_code, latency_ms, created_at FROM sms_responses').all() as ResponseRow[];
  } finally {
    db.close();
  }
}

function countNotFinal(stack: E2EStack, ids: Set<string>): number {
  const db = new Database(stack.databaseFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare("SELECT id FROM sms_requests WHERE status IN ('sent', 'failed')").all() as Array<{ id: string }>;
    let final = 0;
    for (const r of rows) if (ids.has(r.id)) final++;
    return ids.size - final;
  } finally {
    db.close();
  }
}

const toMs = (v: string | number) => (typeof v === 'number' ? v : new Date(v).getTime());

async function oneRepeat(stack: E2EStack, o: AccuracyOptions, repeat: number): Promise<AccuracyRepeat> {
  const { gateway, mocks } = clientsFor(stack);
  const t0 = Date.now();
  await mocks.resetAll();
  // Earlier sends are out of every limiter window after 1 s.
  await sleep(1100);

  // 1. The backlog, through the API, `connections` requests in flight, into the paused queue.
  const queue = openQueue(stack);
  await queue.pause();
  const ids = new Set<string>();
  const answers: Record<string, number> = {};
  let next = 0;
  const e0 = performance.now();
  await Promise.all(
    Array.from({ length: o.connections }, async () => {
      while (next < o.backlog) {
        const i = next++;
        const r = await gateway.send(phoneFor(i), `bench r${repeat} #${i}`, {}, 60000);
        const key = isFailure(r) ? `transport:${r.code ?? r.error}` : String(r.status);
        answers[key] = (answers[key] ?? 0) + 1;
        if (!isFailure(r) && r.status === 200 && r.json?.message_id) ids.add(r.json.message_id as string);
      }
    }),
  );
  const enqueueS = (performance.now() - e0) / 1000;
  o.log(`  repeat ${repeat}: enqueued ${ids.size} of ${o.backlog} in ${enqueueS.toFixed(1)} s (${JSON.stringify(answers)}); resuming the queue`);
  await queue.resume();
  await queue.close();

  // 2. Drained: every message final in the database (the mocks' accepted count gets there first).
  const deadline = Date.now() + Math.ceil((ids.size / BINDING_LIMIT) * 2000) + 60000;
  let notFinal = ids.size;
  while (Date.now() < deadline) {
    const accepted = sumOf(await mocks.allStats(), 'accepted');
    if (accepted >= ids.size) {
      notFinal = countNotFinal(stack, ids);
      if (notFinal === 0) break;
    }
    await sleep(250);
  }
  if (notFinal > 0) notFinal = countNotFinal(stack, ids);

  // 3. Figures: the mocks' own counts, and send times from the stored answers.
  const stats = await mocks.allStats();
  const rows = readResponses(stack).filter((r) => ids.has(r.request_id));
  const sendTimes = rows.map((r) => toMs(r.created_at) - r.latency_ms).sort((a, b) => a - b);
  const delivered = sumOf(stats, 'accepted');
  const spanMs = sendTimes.length > 1 ? sendTimes[sendTimes.length - 1] - sendTimes[0] : 0;
  const providers = Object.fromEntries(
    PROVIDERS.map((p) => [
      p,
      {
        peak1s: stats[p].max_in_any_1s_window,
        sendSidePeak1s: maxInAnyWindow(rows.filter((r) => r.provider === p).map((r) => toMs(r.created_at) - r.latency_ms)).max,
        limit: PROVIDER_LIMIT, accepted: stats[p].accepted, throttled: stats[p].throttled, failed: stats[p].failed },
    ]),
  ) as Record<ProviderId, ProviderFigures>;
  const result: AccuracyRepeat = {
    enqueueAnswers: answers,
    enqueued: ids.size,
    enqueueS,
    enqueueRate: ids.size / enqueueS,
    delivered,
    attempts: rows.length,
    drainSpanS: spanMs / 1000,
    drainRateFirstToLast: spanMs > 0 ? ((delivered - 1) * 1000) / spanMs : 0,
    drainRateWindowed: (delivered * 1000) / (spanMs + 1000),
    // Between the 5% and the 95% send, as the tests measure it. The windowed rate suits a limiter
    // that sends each window's budget at once; a paced one (ours) reaches at most n/(n/limit + 1 s).
    drainRateSustained: sendRate(sendTimes, 0.05, 0.95).perSecond,
    notFinal,
    providers,
    globalPeak1s: maxInAnyWindow(sendTimes).max,
    durationS: (Date.now() - t0) / 1000,
  };
  o.log(
    `  repeat ${repeat}: drained ${delivered} in ${result.drainSpanS.toFixed(2)} s: ${result.drainRateFirstToLast.toFixed(1)}/s first-to-last, ` +
      `${result.drainRateWindowed.toFixed(1)}/s windowed, ${result.drainRateSustained.toFixed(1)}/s sustained (binding ${BINDING_LIMIT}); peaks ${PROVIDERS.map((p) => providers[p].peak1s).join('/')} ` +
      `(limit ${PROVIDER_LIMIT}; at send start ${PROVIDERS.map((p) => providers[p].sendSidePeak1s).join('/')}), global ${result.globalPeak1s}; throttled ${PROVIDERS.map((p) => providers[p].throttled).join('/')}` +
      (notFinal ? `; ${notFinal} NOT FINAL` : ''),
  );
  return result;
}

export async function benchAccuracy(o: AccuracyOptions): Promise<AccuracyResult> {
  const s0 = Date.now();
  o.log('starting a full stack (own Redis, 3 dispatchers, mocks, gateway, health monitor)');
  const stack = await startE2EStack({
    label: 'bench',
    dispatchers: 3,
    env: {
      // The defaults, set explicitly so that a shell variable cannot change what is measured.
      PROVIDER_RATE_LIMIT: String(PROVIDER_LIMIT),
      TOTAL_RATE_LIMIT: String(TOTAL_LIMIT),
      MOCK_RATE_LIMIT: String(PROVIDER_LIMIT),
      // Lifted: the backlog is enqueued as fast as the gateway answers.
      INGEST_RATE_LIMIT: '100000000',
    },
  });
  const stackStartS = (Date.now() - s0) / 1000;
  o.log(`stack ready in ${stackStartS.toFixed(1)} s`);
  const repeats: AccuracyRepeat[] = [];
  try {
    const r0 = Date.now();
    for (let r = 1; r <= o.repeats; r++) {
      const spent = (Date.now() - r0) / 1000;
      const last = repeats.at(-1)?.durationS ?? 0;
      if (r > 1 && spent + last > o.budgetS) {
        o.log(`  stopping after ${repeats.length} repeat(s): another would exceed the ${o.budgetS} s budget`);
        break;
      }
      repeats.push(await oneRepeat(stack, o, r));
      if (stack.unexpectedExits.length) throw new Error(`processes exited: ${JSON.stringify(stack.unexpectedExits)}\n${stack.tail(20)}`);
    }
  } finally {
    await stack.stop();
  }
  const windowed = series(repeats.map((r) => r.drainRateWindowed));
  const firstToLast = series(repeats.map((r) => r.drainRateFirstToLast));
  const sustained = series(repeats.map((r) => r.drainRateSustained));
  const worstProviderPeak1s = Math.max(...repeats.flatMap((r) => PROVIDERS.map((p) => r.providers[p].peak1s)));
  const worstGlobalPeak1s = Math.max(...repeats.map((r) => r.globalPeak1s));
  const ratioWindowed = windowed.median / BINDING_LIMIT;
  const ratioSustained = sustained.median / BINDING_LIMIT;
  const drainMet = ratioSustained >= 0.95 && repeats.every((r) => r.notFinal === 0);
  const peakMet = worstProviderPeak1s <= PROVIDER_LIMIT && worstGlobalPeak1s <= TOTAL_LIMIT;
  return {
    backlog: o.backlog,
    dispatchers: 3,
    limits: { provider: PROVIDER_LIMIT, total: TOTAL_LIMIT, binding: BINDING_LIMIT, mock: PROVIDER_LIMIT },
    repeats,
    stackStartS,
    drainRateFirstToLast: firstToLast,
    drainRateWindowed: windowed,
    drainRateSustained: sustained,
    worstProviderPeak1s,
    worstGlobalPeak1s,
    throttledTotal: repeats.reduce((n, r) => n + PROVIDERS.reduce((m, p) => m + r.providers[p].throttled, 0), 0),
    failedTotal: repeats.reduce((n, r) => n + PROVIDERS.reduce((m, p) => m + r.providers[p].failed, 0), 0),
    ratioWindowed,
    ratioSustained,
    ratioFirstToLast: firstToLast.median / BINDING_LIMIT,
    targets: { drainRatioAtLeast: 0.95, aimRatio: 0.99, peakAtMost: PROVIDER_LIMIT, drainMet, peakMet, met: drainMet && peakMet },
  };
}
