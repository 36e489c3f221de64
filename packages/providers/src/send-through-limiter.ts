import type { ProviderSettings } from '@twillow/config';
import type { OutcomeEvent, ProviderSendBody } from '@twillow/contracts';
import type { Logger } from '@twillow/logger';
import type { AcquireRequest, AcquireResult } from '@twillow/rate-limit';
import type { SendOptions } from './provider.client';
import type { SendResult } from './send-result';

/** Back-off after a 429 without a usable Retry-After, in ms. */
export const DEFAULT_THROTTLE_BACKOFF_MS = 1000;
/** Longest back-off a provider's Retry-After can impose, in ms (a bad header must not park a provider for hours). */
export const MAX_THROTTLE_BACKOFF_MS = 60_000;

/** The part of SharedRateLimiter a send needs. */
export interface SlotLimiter {
  acquire(req: AcquireRequest): Promise<AcquireResult>;
  backoff(provider: string, ms: number): Promise<void>;
  /** Gives back an unused reservation (see maxGrantAgeMs). */
  release?(provider: string, member: string): Promise<boolean>;
  /** Tells the limiter the provider answered (or the request failed): the send was counted by then. */
  markAnswered?(provider: string, member: string): Promise<boolean>;
}

/** Stale grants given back in a row before a send goes out anyway (an overloaded host must not starve). */
const MAX_STALE_RELEASES = 3;

/** The part of ProviderClient a send needs. */
export interface ProviderSender {
  send(provider: Pick<ProviderSettings, 'id' | 'url'>, body: ProviderSendBody, opts?: SendOptions): Promise<SendResult>;
}

/** Where outcome events go (OutcomePublisher in @twillow/redis). */
export interface OutcomeSink {
  publish(event: OutcomeEvent): Promise<void>;
}

export interface SendThroughLimiterDeps {
  limiter: SlotLimiter;
  client: ProviderSender;
  providers: readonly Pick<ProviderSettings, 'id' | 'url'>[];
  outcomes: OutcomeSink;
  logger: Logger;
}

export interface SendThroughLimiterInput {
  body: ProviderSendBody;
  requestId?: string;
  /** Passed to the limiter: modes, `only` (direct sends), maxWaitMs, signal. */
  acquire: AcquireRequest;
  /**
   * Called once a slot is granted, right before the request goes out; returning false cancels the
   * send (the dispatcher checks that it still holds the message's lease) and gives the slot back.
   */
  beforeSend?: (provider: string) => Promise<boolean>;
  /**
   * false: do not publish the outcome event; the caller publishes `outcome` itself with
   * publishOutcome() (the dispatcher stores the attempt first, so the window between a provider's
   * acceptance and our record stays as short as possible). Default true.
   */
  publish?: boolean;
  /**
   * A grant older than this when the request is about to leave (the process stalled after the
   * grant: CPU starvation, GC, a slow beforeSend) is given back and a new slot is taken. The limiter
   * counts a send as in flight for its inFlightMs from the grant until the answer is marked; this
   * keeps grant-to-answer within that (this plus the request timeout). Default: no check.
   */
  maxGrantAgeMs?: number;
}

export type LimitedSend =
  /** The provider answered (any status) or the request failed on the network; see `result.kind`. */
  | { kind: 'answered'; provider: ProviderSettings['id']; result: SendResult; waitedMs: number; outcome: OutcomeEvent }
  /** Every candidate provider is excluded or out of probe tokens. */
  | { kind: 'none-available' }
  /** `acquire.maxWaitMs` passed without room. */
  | { kind: 'no-room'; retryAfterMs: number }
  /** `beforeSend` declined; nothing was sent. */
  | { kind: 'cancelled'; provider: string };

/**
 * One send under the shared limits: reserve a slot, POST, back the provider off after a 429, and
 * publish the outcome for the health monitor. Used by the dispatcher for every attempt and by the
 * gateway's direct-send endpoints (with `acquire.only`). Never retries; the caller decides.
 * Rejects only when the limiter does (closed, aborted by `acquire.signal`, Redis away).
 */
export async function sendThroughLimiter(deps: SendThroughLimiterDeps, input: SendThroughLimiterInput): Promise<LimitedSend> {
  const { limiter } = deps;
  let granted: Extract<AcquireResult, { kind: 'granted' }>;
  let provider: SendThroughLimiterDeps['providers'][number] | undefined;
  for (let stale = 0; ; stale++) {
    const slot = await limiter.acquire(input.acquire);
    if (slot.kind === 'none-available') return slot;
    if (slot.kind === 'no-room') return slot;
    granted = slot;
    provider = deps.providers.find((p) => p.id === granted.provider);
    if (!provider) throw new Error(`rate limiter granted unknown provider "${granted.provider}"`);
    if (input.beforeSend && !(await input.beforeSend(provider.id))) {
      // Nothing went out: a held slot would count as in flight for the limiter's whole hold.
      await limiter.release?.(granted.provider, granted.member).catch((err: unknown) => {
        deps.logger.warn('could not give back an unused rate-limit grant', { provider: granted.provider, error: (err as Error).message });
      });
      return { kind: 'cancelled', provider: provider.id };
    }
    const age = performance.now() - granted.grantedAt;
    if (input.maxGrantAgeMs === undefined || !limiter.release || age <= input.maxGrantAgeMs || stale >= MAX_STALE_RELEASES) break;
    deps.logger.warn('gave back a stale rate-limit grant', { provider: provider.id, age_ms: Math.round(age), max_ms: input.maxGrantAgeMs });
    await limiter.release(granted.provider, granted.member);
  }

  const result = await deps.client.send(provider, input.body, { requestId: input.requestId });
  // The provider counted the send before it answered: from now on its slot only has to stay one
  // window away from this moment (see MARK_ANSWERED_LUA), instead of the in-flight hold.
  const marking = limiter.markAnswered?.(granted.provider, granted.member).then(
    () => undefined,
    (err: unknown) => {
      deps.logger.warn('could not mark a rate-limit grant as answered', { provider: provider.id, error: (err as Error).message });
    },
  );

  const outcome: OutcomeEvent = {
    provider: provider.id,
    kind: result.kind,
    latency_ms: result.latencyMs,
    at: Date.now(),
    message_id: input.body.message_id,
    ...(result.error ? { error: result.error.slice(0, 200) } : {}),
  };
  const followUps: Promise<void>[] = marking ? [marking] : [];
  if (input.publish !== false) followUps.push(publishOutcome(deps, outcome));
  if (result.kind === 'throttled') {
    const ms = Math.min(result.retryAfterMs ?? DEFAULT_THROTTLE_BACKOFF_MS, MAX_THROTTLE_BACKOFF_MS);
    followUps.push(
      limiter.backoff(provider.id, Math.max(1, ms)).catch((err: unknown) => {
        deps.logger.warn('could not store a provider back-off', { provider: provider.id, backoff_ms: ms, error: (err as Error).message });
      }),
    );
  }
  await Promise.all(followUps);
  return { kind: 'answered', provider: provider.id, result, waitedMs: granted.waitedMs, outcome };
}

/** Publishes one outcome event; a failure is logged, never thrown (health is advisory). */
export async function publishOutcome(deps: Pick<SendThroughLimiterDeps, 'outcomes' | 'logger'>, event: OutcomeEvent): Promise<void> {
  try {
    await deps.outcomes.publish(event);
  } catch (err) {
    deps.logger.warn('could not publish a send outcome', { provider: event.provider, error: (err as Error).message });
  }
}
