/**
 * Helpers the scenarios share: paced load, waiting for final states, the 1-second window checker,
 * and direct (read-only) looks at the queue and the database for the invariants the API cannot show
 * while the gateway is down.
 */
import { Queue } from 'bullmq';
import Database from 'better-sqlite3';
import { redisKeys } from '@twillow/redis';
import { FINAL_STATUSES, phoneFor, type GatewayClient, type SmsRequestDetail, type SmsRequestRecord } from './clients';
import { isFailure, type HttpOutcome } from './http.client';
import type { E2EStack } from './stack.fixture';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WindowPeak {
  /** Most events inside any interval (t - windowMs, t]. */
  max: number;
  /** End of the first interval holding `max` (same unit as the input). */
  at: number | null;
}

/**
 * Most events in any `windowMs` interval: for every event t_i, counts the events in
 * (t_i - windowMs, t_i]. The busiest interval always ends on an event, so this is exact.
 */
export function maxInAnyWindow(timestamps: readonly number[], windowMs = 1000): WindowPeak {
  const ts = [...timestamps].sort((a, b) => a - b);
  let best: WindowPeak = { max: 0, at: null };
  let lo = 0;
  for (let hi = 0; hi < ts.length; hi += 1) {
    while (ts[lo] <= ts[hi] - windowMs) lo += 1;
    const n = hi - lo + 1;
    if (n > best.max) best = { max: n, at: ts[hi] };
  }
  return best;
}

/** Accepted sends at the providers, sampled over time. */
export interface AcceptedSample {
  /** Epoch ms of the sample. */
  t: number;
  /** Sends the providers had accepted by then. */
  accepted: number;
}

/**
 * The dispatch rate while there was work to dispatch: over the sampling intervals that began with
 * at least `minBacklog` messages the gateway had accepted (`gatewayAcceptedAt`, epoch ms) and no
 * provider had yet. Under load offered at the limit the queue runs dry whenever the gateway stalls;
 * those intervals measure the load generator, not the dispatchers, and are left out.
 */
export function busyDispatchRate(
  samples: readonly AcceptedSample[],
  gatewayAcceptedAt: readonly number[],
  minBacklog: number,
): { perSecond: number; busyMs: number; sent: number } {
  const accepted = [...gatewayAcceptedAt].sort((a, b) => a - b);
  let k = 0;
  let busyMs = 0;
  let sent = 0;
  for (let i = 0; i + 1 < samples.length; i += 1) {
    const [a, b] = [samples[i], samples[i + 1]];
    while (k < accepted.length && accepted[k] <= a.t) k += 1;
    if (k - a.accepted < minBacklog || b.t <= a.t) continue;
    busyMs += b.t - a.t;
    sent += b.accepted - a.accepted;
  }
  return { perSecond: busyMs > 0 ? (sent * 1000) / busyMs : 0, busyMs, sent };
}

export interface SendRecord {
  /** Index of the message in this run. */
  i: number;
  phone: string;
  text: string;
  /** Epoch ms when the request was written. */
  at: number;
  result: HttpOutcome;
  /** message_id of a 200. */
  id?: string;
}

export interface PacedRun {
  records: SendRecord[];
  /** Messages per second actually written (requests / time spent writing them). */
  offeredRate: number;
  elapsedMs: number;
}

/**
 * Sends `rate` messages per second for `durationMs`, paced every 10 ms (no bursts), without waiting
 * for answers before the next send. `label` makes texts unique per scenario.
 */
export async function sendPaced(
  gateway: GatewayClient,
  opts: { rate: number; durationMs: number; label: string; stopSignal?: { stop: boolean }; timeoutMs?: number },
): Promise<PacedRun> {
  const started = Date.now();
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  const inflight: Promise<void>[] = [];
  const records: SendRecord[] = [];
  let i = 0;
  while (i < total && !opts.stopSignal?.stop) {
    const due = Math.min(total, Math.floor(((Date.now() - started) * opts.rate) / 1000) + 1);
    while (i < due) {
      const index = i;
      const phone = phoneFor(index);
      const text = `${opts.label} #${index}`;
      const rec: SendRecord = { i: index, phone, text, at: Date.now(), result: { status: 0, error: 'not answered', ms: 0 } };
      records.push(rec);
      inflight.push(
        gateway.send(phone, text, {}, opts.timeoutMs ?? 15000).then((r) => {
          rec.result = r;
          if (!isFailure(r) && r.status === 200 && r.json?.message_id) rec.id = r.json.message_id as string;
        }),
      );
      i += 1;
    }
    await sleep(10);
  }
  // Offered rate: writes over the time spent writing (answers may come much later).
  const writingMs = Math.max(1, (records.at(-1)?.at ?? started) - started + 1000 / opts.rate);
  await Promise.all(inflight);
  const elapsedMs = Date.now() - started;
  return { records, offeredRate: (records.length * 1000) / writingMs, elapsedMs };
}

/** Fires `n` sends at once (all written before any answer is awaited). */
export async function sendBurst(gateway: GatewayClient, n: number, label: string): Promise<SendRecord[]> {
  const records: SendRecord[] = [];
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i += 1) {
    const rec: SendRecord = { i, phone: phoneFor(i), text: `${label} #${i}`, at: Date.now(), result: { status: 0, error: 'not answered', ms: 0 } };
    records.push(rec);
    all.push(
      gateway.send(rec.phone, rec.text).then((r) => {
        rec.result = r;
        if (!isFailure(r) && r.status === 200 && r.json?.message_id) rec.id = r.json.message_id as string;
      }),
    );
  }
  await Promise.all(all);
  return records;
}

/** Status counts of a send run, e.g. {"200": 2990, "429": 10, "transport:ECONNRESET": 0}. */
export function statusHistogram(records: readonly SendRecord[]): Record<string, number> {
  const h: Record<string, number> = {};
  for (const r of records) {
    const key = isFailure(r.result) ? `transport:${r.result.code ?? r.result.error}` : String(r.result.status);
    h[key] = (h[key] ?? 0) + 1;
  }
  return h;
}

/** The first few answers that are not 200, for failure messages. */
export function sampleNon200(records: readonly SendRecord[], n = 5): string {
  return records
    .filter((r) => isFailure(r.result) || r.result.status !== 200)
    .slice(0, n)
    .map((r) => (isFailure(r.result) ? `#${r.i}: ${r.result.code ?? ''} ${r.result.error}` : `#${r.i}: ${r.result.status} ${r.result.text.slice(0, 200)}`))
    .join('\n');
}

/**
 * Polls the gateway until every id is stored with a final status (sent or failed), and returns
 * the rows. Large sets are read through the list endpoint, small ones one by one. On time-out the
 * error lists how many are still pending/processing/missing, with examples.
 */
export async function waitUntilAllFinal(
  gateway: GatewayClient,
  ids: readonly string[],
  timeoutMs: number,
  intervalMs = 1000,
): Promise<Map<string, SmsRequestRecord>> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(ids);
  let last = new Map<string, SmsRequestRecord>();
  let lastError = '';
  for (;;) {
    try {
      last = new Map();
      if (wanted.size > 40) {
        for (const r of await gateway.listAll()) if (wanted.has(r.id)) last.set(r.id, r);
      } else {
        for (const id of wanted) {
          const r = await gateway.getRequest(id);
          if (r) last.set(id, r);
        }
      }
      lastError = '';
      if ([...wanted].every((id) => FINAL_STATUSES.includes(last.get(id)?.status as never))) return last;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) break;
    await sleep(intervalMs);
  }
  const missing = [...wanted].filter((id) => !last.has(id));
  const open = [...wanted].filter((id) => last.has(id) && !FINAL_STATUSES.includes(last.get(id)!.status));
  const byStatus: Record<string, number> = {};
  for (const r of last.values()) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  throw new Error(
    `after ${timeoutMs} ms, ${open.length + missing.length} of ${wanted.size} requests are not final: ` +
      `statuses ${JSON.stringify(byStatus)}, missing ${missing.length} (e.g. ${missing.slice(0, 3).join(', ')}), ` +
      `open e.g. ${open
        .slice(0, 3)
        .map((id) => `${id}=${last.get(id)!.status}/attempts ${last.get(id)!.attempts}`)
        .join(', ')}${lastError ? `; last read error: ${lastError}` : ''}`,
  );
}

/** GET /api/sms/requests/{id} for each id, `concurrency` at a time. */
export async function getDetails(gateway: GatewayClient, ids: readonly string[], concurrency = 16): Promise<Map<string, SmsRequestDetail>> {
  const out = new Map<string, SmsRequestDetail>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const id = ids[next++];
        const d = await gateway.getRequest(id);
        if (!d) throw new Error(`GET /api/sms/requests/${id} is 404 for an id the gateway answered 200 for`);
        out.set(id, d);
      }
    }),
  );
  return out;
}

/** Polls `check` until truthy; the error names `what` and the last value seen. */
export async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err instanceof Error ? `error: ${err.message}` : err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

/** BullMQ view of the stack's SMS queue (read-only use: counts and job lookups). */
export function openQueue(stack: E2EStack): Queue {
  const keys = redisKeys(stack.redisPrefix);
  return new Queue(keys.smsQueue, {
    prefix: keys.bullPrefix,
    connection: { url: stack.redisUrl, maxRetriesPerRequest: null, enableOfflineQueue: true } as never,
  });
}

/** Total jobs of every state in the queue. */
export async function totalJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized', 'waiting-children');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Rows straight from the SQLite file (read-only): for checks while the gateway is down. */
export function readRequestsFromDb(stack: E2EStack): Array<{ id: string; status: string; attempts: number; text: string }> {
  const db = new Database(stack.databaseFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare('SELECT id, status, attempts, text FROM sms_requests').all() as Array<{ id: string; status: string; attempts: number; text: string }>;
  } finally {
    db.close();
  }
}

/** Sum of a numeric field over the three mocks' stats. */
export function sumOf(stats: Record<string, Record<string, unknown>>, field: string): number {
  return Object.values(stats).reduce((a, s) => a + Number(s[field] ?? 0), 0);
}
