import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import type { ProviderSettings } from '@twillow/config';
import { z, type AvailabilityState, type SmsJobData } from '@twillow/contracts';
import type { MessageStatus, NewSmsResponse, SmsRepository } from '@twillow/db';
import { maskPhone, type Logger } from '@twillow/logger';
import { deliveryUnknown, publishOutcome, sendThroughLimiter, type OutcomeSink, type ProviderSender, type SlotLimiter } from '@twillow/providers';
import type { AcquireRequest, ProviderMode } from '@twillow/rate-limit';
import type { RedisKeys } from '@twillow/redis';

/** How one message is retried; every duration in ms. */
export interface SendMessagePolicy {
  /** Transient failures (5xx, timeout, connection error) a message may take before it is failed. */
  maxAttempts: number;
  /** Retry n (1-based) waits a uniform random time in [0, retryBaseDelayMs * 2^(n-1)] (full jitter). */
  retryBaseDelayMs: number;
  /** 429 answers one message may collect before it is failed; they do not use up maxAttempts. */
  maxThrottled: number;
  /** Life of the per-message send lease; renewed before every attempt. Must exceed one send (PROVIDER_TIMEOUT_MS) plus its recording. */
  leaseMs: number;
  /**
   * A send may start without renewing the lease again if it was renewed less than this long ago
   * (leaseMs minus the longest send and its recording).
   */
  leaseHeadroomMs: number;
  /** Delay of a job when no provider is available. */
  noProviderDelayMs: number;
  /** Longest in-process wait for limiter room; a longer wait delays the job instead of holding a worker slot. */
  maxSlotWaitMs: number;
  /** A job whose stored request is missing is delayed and retried until the job is this old, then dropped. */
  missingRequestGraceMs: number;
  /** Life of a send intent (`{P:rl}:inflight:<id>`); must outlast any delay between two runs of a job. */
  intentTtlMs: number;
  /** A grant older than this when the request is about to leave is given back and taken again, in ms. */
  maxGrantAgeMs?: number;
  /**
   * After an ambiguous attempt (timeout, connection lost, dispatcher killed mid-send) the message
   * waits at most this long for that same provider to take it again; then it goes elsewhere (an
   * at-least-once fallback, logged).
   */
  sameProviderWaitMs: number;
  /** Resends to the provider of an ambiguous attempt that may end ambiguous again before falling back elsewhere. */
  maxSameProviderResends: number;
}

export type RetryLaterReason = 'no-provider' | 'no-room' | 'leased' | 'missing-request' | 'shutting-down';

export type SendMessageOutcome =
  | { kind: 'sent'; provider: string; providerRef: string | null; attempts: number }
  /** `permanent`: the provider rejected the message (4xx); otherwise the retries ran out. */
  | { kind: 'failed'; permanent: boolean; reason: string; attempts: number }
  /** The stored request was already sent or failed (a redelivered or recovered job): nothing was sent. */
  | { kind: 'already-done'; status: MessageStatus }
  /** Nothing more to do now; run the job again after `delayMs`. The stored status stays pending/processing. */
  | { kind: 'retry-later'; reason: RetryLaterReason; delayMs: number }
  /** No stored request exists for this job, even after the grace period. */
  | { kind: 'missing-request' };

export interface HealthView {
  effectiveState(provider: string): AvailabilityState;
}

export interface SendMessageDeps {
  repository: Pick<SmsRepository, 'findById' | 'setStatus' | 'recordAttempt'>;
  /** For the send lease and the send intent. */
  redis: Redis;
  keys: RedisKeys;
  limiter: SlotLimiter;
  client: ProviderSender;
  providers: readonly ProviderSettings[];
  outcomes: OutcomeSink;
  health: HealthView;
  logger: Logger;
  /** Uniform [0, 1) for the retry jitter. */
  random?: () => number;
  now?: () => number;
}

/** Compare-and-extend: renews our lease, takes it again if it lapsed and nobody else holds it. */
const RENEW_LEASE_LUA = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const DELETE_IF_EQUALS_LUA = RELEASE_LEASE_LUA;

const RECORD_TRIES = 3;

/**
 * "Attempt `attempt` of this message goes to `provider`": the limiter's script writes it to
 * keys.sendIntent as `<provider> <payload JSON>` atomically with the grant (no round trip between
 * grant and send), and it is deleted once an answer that settles it is recorded. A run that finds
 * one knows the last attempt may have been delivered without us knowing.
 */
const intentPayloadSchema = z.object({
  attempt: z.number().int(),
  /** Epoch ms the ambiguous chain began (kept across resends to the same provider). */
  since: z.number(),
  /** Sends to the provider made after the first ambiguous one. */
  resends: z.number().int().min(0),
});
const sendIntentSchema = intentPayloadSchema.extend({ provider: z.string().min(1) });
export type SendIntent = z.infer<typeof sendIntentSchema>;

/** What one run knows about the intent key; read by execute() to clean up. */
interface RunState {
  /** The intent value in Redis as this run last saw or wrote it (null: none). */
  stored: string | null;
  /** The provider that may hold the message without our record, or null. */
  ambiguous: SendIntent | null;
  /** Outcome events on their way to the health monitor. */
  publishing: Promise<void>[];
}

/**
 * Sends one queued message: lease, stored-state check, then attempts through the shared limiter
 * until a provider accepts it, rejects it, or the retry budget is spent. Every provider answer is
 * stored (SmsResponse + request update in one transaction) and published as an outcome event.
 * Knows nothing of BullMQ: the worker maps the outcome onto job vocabulary.
 */
export class SendMessageUseCase {
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly deps: SendMessageDeps,
    private readonly policy: SendMessagePolicy,
  ) {
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? Date.now;
  }

  async execute(data: SmsJobData, signal?: AbortSignal): Promise<SendMessageOutcome> {
    const { redis, keys } = this.deps;
    const leaseKey = keys.sendLease(data.message_id);
    const intentKey = keys.sendIntent(data.message_id);
    const token = randomUUID();
    // One round trip: the lease, and any intent a previous run left behind.
    const [taken, intent] = await Promise.all([redis.set(leaseKey, token, 'PX', this.policy.leaseMs, 'NX'), redis.get(intentKey)]);
    if (taken !== 'OK') {
      // Another dispatcher is sending this message right now (a stalled job picked up twice).
      const ttl = await redis.pttl(leaseKey);
      return { kind: 'retry-later', reason: 'leased', delayMs: ttl > 0 ? ttl + 50 : this.policy.leaseMs };
    }
    const run: RunState = { stored: intent, ambiguous: this.parseIntent(intent), publishing: [] };
    let outcome: SendMessageOutcome | undefined;
    try {
      outcome = await this.sendUnderLease(data, leaseKey, intentKey, token, run, signal);
      return outcome;
    } finally {
      // The intent goes once nothing is ambiguous any more, or the message is final. It stays after
      // an error, and when the lease was lost (the intent may be another dispatcher's by now).
      const settled = outcome !== undefined && (outcome.kind !== 'retry-later' ? true : outcome.reason !== 'leased' && run.ambiguous === null);
      await Promise.all([
        redis.eval(RELEASE_LEASE_LUA, 1, leaseKey, token).catch((err: unknown) => {
          // It expires by itself after leaseMs; a late release only delays a recovery.
          this.deps.logger.warn('could not release a send lease', { error: (err as Error).message });
        }),
        settled && run.stored !== null
          ? redis.eval(DELETE_IF_EQUALS_LUA, 1, intentKey, run.stored).catch((err: unknown) => {
              // Left behind, it makes a later run of a non-final message prefer that provider once.
              this.deps.logger.warn('could not delete a send intent', { error: (err as Error).message });
            })
          : undefined,
        ...run.publishing,
      ]);
    }
  }

  private parseIntent(raw: string | null): SendIntent | null {
    if (raw === null) return null;
    try {
      const space = raw.indexOf(' ');
      return sendIntentSchema.parse({ ...(JSON.parse(raw.slice(space + 1)) as object), provider: space > 0 ? raw.slice(0, space) : '' });
    } catch (err) {
      this.deps.logger.warn('ignoring an unreadable send intent', { error: (err as Error).message });
      return null;
    }
  }

  private async sendUnderLease(
    data: SmsJobData,
    leaseKey: string,
    intentKey: string,
    token: string,
    run: RunState,
    signal: AbortSignal | undefined,
  ): Promise<SendMessageOutcome> {
    const { repository, logger } = this.deps;
    // No 'processing' write before the first send: the request stays pending until an attempt is
    // recorded (processing = an attempt was made and the message is not final). One read, no write.
    const stored = await repository.findById(data.message_id);
    if (!stored) {
      if (this.now() - data.enqueued_at < this.policy.missingRequestGraceMs) {
        return { kind: 'retry-later', reason: 'missing-request', delayMs: this.policy.noProviderDelayMs };
      }
      return { kind: 'missing-request' };
    }
    // The rule that prevents a double send after a crash or a stall: a terminal request is never sent again.
    if (stored.status === 'sent' || stored.status === 'failed') return { kind: 'already-done', status: stored.status };
    const row = stored;
    if (run.ambiguous) {
      logger.info('previous attempt unconfirmed; resending to the same provider with the same message_id', {
        provider: run.ambiguous.provider,
        attempt: run.ambiguous.attempt,
        recorded_attempts: row.attempts,
      });
    }
    let leaseRenewedAt = this.now();

    const body = { phone: data.phone, text: data.text, message_id: data.message_id };
    const lifetimeCap = this.policy.maxAttempts + this.policy.maxThrottled;
    let attempt = row.attempts;
    let failures = 0;
    let throttled = 0;
    let lastFailed: string | undefined;

    for (;;) {
      if (attempt >= lifetimeCap) {
        // Earlier runs (before delays or crashes) already used the budget of this message.
        const reason = `gave up after ${attempt} attempts (${row.lastError ?? 'no answer recorded'})`;
        await repository.setStatus(row.id, 'failed', reason);
        return { kind: 'failed', permanent: false, reason, attempts: attempt };
      }

      // Renew the lease before waiting for a slot (unless just taken), so that a granted slot is
      // used at once: every await between the reservation and the request holds the slot longer
      // (it is counted from the grant until one window after the answer), which costs throughput.
      if (this.now() - leaseRenewedAt >= this.policy.leaseHeadroomMs) {
        if (!(await this.renewLease(leaseKey, token))) return { kind: 'retry-later', reason: 'leased', delayMs: this.policy.leaseMs };
        leaseRenewedAt = this.now();
      }
      const renewedAt = leaseRenewedAt;

      // An ambiguous attempt is resent to its provider only (it dedupes by message_id); another
      // provider would deliver the message a second time.
      let only: string | undefined;
      let chain: { since: number; resends: number } = { since: this.now(), resends: 0 };
      const ambiguous = run.ambiguous;
      if (ambiguous) {
        const why = this.fallbackReason(ambiguous);
        if (why) {
          logger.warn('at-least-once fallback: the provider of an unconfirmed attempt did not take the message again; sending elsewhere', {
            provider: ambiguous.provider,
            reason: why,
            unconfirmed_for_ms: this.now() - ambiguous.since,
          });
          run.ambiguous = null;
          lastFailed = ambiguous.provider;
        } else {
          only = ambiguous.provider;
          chain = { since: ambiguous.since, resends: ambiguous.resends + 1 };
        }
      }
      const payload = JSON.stringify({ attempt: attempt + 1, ...chain });
      const acquire: AcquireRequest = {
        ...(only
          ? { only, maxWaitMs: Math.max(10, Math.min(this.policy.maxSlotWaitMs, this.policy.sameProviderWaitMs - (this.now() - chain.since))) }
          : { modes: this.exclusions(lastFailed), maxWaitMs: this.policy.maxSlotWaitMs }),
        signal,
        // Durable before the request leaves: the script stores it with the grant.
        intent: { key: intentKey, payload, ttlMs: this.policy.intentTtlMs },
      };

      let intent: SendIntent | undefined;
      let sent;
      try {
        sent = await sendThroughLimiter(this.deps, {
          body,
          requestId: data.request_id,
          acquire,
          maxGrantAgeMs: this.policy.maxGrantAgeMs,
          beforeSend: async (provider) => {
            intent = { provider, attempt: attempt + 1, ...chain };
            run.stored = `${provider} ${payload}`;
            return this.ensureLease(leaseKey, token, renewedAt);
          },
          publish: false,
        });
      } catch (err) {
        if (signal?.aborted) return { kind: 'retry-later', reason: 'shutting-down', delayMs: 0 };
        throw err;
      }
      if (sent.kind === 'none-available') {
        // With an ambiguous attempt: its provider is unavailable; wait for it (up to sameProviderWaitMs).
        const delayMs = run.ambiguous ? Math.min(this.policy.noProviderDelayMs, Math.max(10, this.policy.sameProviderWaitMs - (this.now() - run.ambiguous.since))) : this.policy.noProviderDelayMs;
        return { kind: 'retry-later', reason: 'no-provider', delayMs };
      }
      if (sent.kind === 'no-room') return { kind: 'retry-later', reason: 'no-room', delayMs: Math.max(10, sent.retryAfterMs) };
      if (sent.kind === 'cancelled') return { kind: 'retry-later', reason: 'leased', delayMs: this.policy.leaseMs };

      const { provider, result } = sent;
      attempt += 1;
      // Whether this message may now sit at `provider` without our knowing: set by an answer we did
      // not get, cleared by one the provider gave (2xx, 4xx, 5xx); a 429 or a refused connection
      // (nothing delivered) leaves it as it was.
      if (deliveryUnknown(result)) run.ambiguous = intent ?? null;
      else if (result.kind === 'success' || result.kind === 'rejected' || result.kind === 'server_error') run.ambiguous = null;
      const response: NewSmsResponse = {
        requestId: row.id,
        provider,
        attempt,
        statusCode: result.statusCode,
        body: result.body,
        latencyMs: result.latencyMs,
        outcome: result.kind,
        error: result.error,
      };
      const reason = `${provider}: ${result.error ?? result.kind}`;
      // Store first, then tell the health monitor: a crash between a provider's acceptance and our
      // record is the one case that leads to a resend, so that window is kept as short as possible.
      const outcome = sent.outcome;
      const store = async (update: { status: MessageStatus; provider?: string | null; lastError?: string | null }) => {
        await this.record(response, update);
        // Not awaited here: it goes out with the lease release (one write, auto-pipelined) and
        // execute() waits for it. publishOutcome never rejects.
        run.publishing.push(publishOutcome(this.deps, outcome));
      };
      // Built only when a line is written: winston runs its whole format pipeline even for a level
      // that is off, so the per-message debug line is guarded too.
      const log = () => ({ provider, attempt, outcome: result.kind, status_code: result.statusCode, latency_ms: result.latencyMs, phone: maskPhone(data.phone) });

      if (result.kind === 'success') {
        await store({ status: 'sent', provider, lastError: null });
        if (logger.isDebugEnabled()) logger.debug('message sent', { ...log(), provider_ref: result.providerRef });
        return { kind: 'sent', provider, providerRef: result.providerRef, attempts: attempt };
      }
      if (result.kind === 'rejected') {
        await store({ status: 'failed', provider, lastError: reason });
        logger.warn('message rejected by the provider; not retried', log());
        return { kind: 'failed', permanent: true, reason, attempts: attempt };
      }
      if (result.kind === 'throttled') {
        // The limiter already backs this provider off; the next pick goes elsewhere (or waits for
        // this provider, when an earlier attempt there is unconfirmed). Not a failure.
        throttled += 1;
        const exhausted = throttled >= this.policy.maxThrottled;
        await store({ status: exhausted ? 'failed' : 'processing', lastError: reason });
        if (exhausted) {
          const why = `throttled ${throttled} times; last ${reason}`;
          logger.warn('message failed: providers kept throttling', log());
          return { kind: 'failed', permanent: false, reason: why, attempts: attempt };
        }
        logger.info('provider throttled; trying another', { ...log(), retry_after_ms: result.retryAfterMs });
        continue;
      }

      // server_error | timeout | connection_error: transient; retry after a backoff, elsewhere
      // unless the attempt is ambiguous (then the same provider first, see above).
      failures += 1;
      lastFailed = run.ambiguous ? undefined : provider;
      const exhausted = failures >= this.policy.maxAttempts;
      await store({ status: exhausted ? 'failed' : 'processing', provider: exhausted ? provider : undefined, lastError: reason });
      if (exhausted) {
        logger.warn('message failed after its last attempt', { ...log(), failures });
        return { kind: 'failed', permanent: false, reason, attempts: attempt };
      }
      const delayMs = Math.floor(this.random() * this.policy.retryBaseDelayMs * 2 ** (failures - 1));
      logger.info(run.ambiguous ? 'send unconfirmed; retrying on the same provider' : 'send failed; retrying on another provider', { ...log(), failures, retry_in_ms: delayMs });
      try {
        await sleep(delayMs, undefined, { signal });
      } catch (err) {
        if (signal?.aborted) return { kind: 'retry-later', reason: 'shutting-down', delayMs: 0 };
        throw err;
      }
    }
  }

  /** Why an ambiguous attempt may no longer wait for its provider, or null while it may. */
  private fallbackReason(ambiguous: SendIntent): string | null {
    if (!this.deps.providers.some((p) => p.id === ambiguous.provider)) return 'provider no longer configured';
    if (ambiguous.resends >= this.policy.maxSameProviderResends) return `still unconfirmed after ${ambiguous.resends} resend(s)`;
    if (this.now() - ambiguous.since > this.policy.sameProviderWaitMs) return `unavailable for more than ${this.policy.sameProviderWaitMs} ms`;
    return null;
  }

  /** Keeps the provider that just failed this message out of the next pick, unless it is the only one left. */
  private exclusions(lastFailed: string | undefined): Record<string, ProviderMode> | undefined {
    if (!lastFailed) return undefined;
    const othersUp = this.deps.providers.some((p) => p.id !== lastFailed && this.deps.health.effectiveState(p.id) !== 'unavailable');
    return othersUp ? { [lastFailed]: 'excluded' } : undefined;
  }

  /**
   * Right before a send: the lease must outlive the send (PROVIDER_TIMEOUT_MS, within leaseMs) and
   * its recording. Renewed in Redis only when the slot wait ate into that; usually a no-op.
   */
  private async ensureLease(leaseKey: string, token: string, renewedAt: number): Promise<boolean> {
    if (this.now() - renewedAt < this.policy.leaseHeadroomMs) return true;
    return this.renewLease(leaseKey, token);
  }

  private async renewLease(leaseKey: string, token: string): Promise<boolean> {
    const ok = await this.deps.redis.eval(RENEW_LEASE_LUA, 1, leaseKey, token, this.policy.leaseMs);
    if (Number(ok) !== 1) this.deps.logger.warn('send lease lost to another dispatcher; not sending');
    return Number(ok) === 1;
  }

  /** Stores one attempt; retried briefly because losing the record of an accepted send means a resend later. */
  private async record(response: NewSmsResponse, update: { status: MessageStatus; provider?: string | null; lastError?: string | null }): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await this.deps.repository.recordAttempt(response, update);
        return;
      } catch (err) {
        if (i >= RECORD_TRIES) throw err;
        this.deps.logger.warn('could not store a send attempt; retrying', { attempt: response.attempt, error: (err as Error).message });
        await sleep(100 * 3 ** (i - 1));
      }
    }
  }
}
