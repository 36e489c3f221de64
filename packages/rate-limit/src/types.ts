/** Per-provider settings the limiter enforces. */
export interface ProviderLimit {
  id: string;
  /** Most sends to this provider in any 1-second interval. */
  ratePerSecond: number;
  /** Share in the smooth weighted round-robin. */
  weight: number;
}

/**
 * How the caller's health view sees a provider right now:
 * `available` competes normally; `probing` competes only while probe tokens last;
 * `excluded` is skipped (unavailable, or the provider that just failed this message).
 */
export type ProviderMode = 'available' | 'probing' | 'excluded';

export interface AcquireRequest {
  /** Mode per provider id; providers not named are `available`. */
  modes?: Record<string, ProviderMode>;
  /** Restrict to this one provider (direct sends). */
  only?: string;
  /** Give up after waiting this long for room, in ms; default: wait as long as it takes. */
  maxWaitMs?: number;
  /** Aborts the wait (shutdown); the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Written atomically with the grant: `key` is set to `<provider> <payload>` for `ttlMs`, so a
   * sender that crashes after the grant leaves a record of where the message may have gone.
   * The key must come from RedisKeys.sendIntent (same hash slot as the limiter's keys).
   */
  intent?: { key: string; payload: string; ttlMs: number };
}

export type AcquireResult =
  /** A send slot was reserved at `provider`; send now. */
  | {
      kind: 'granted';
      provider: string;
      waitedMs: number;
      /** The reservation's id in the windows, for release(). */
      member: string;
      /** performance.now() when Redis answered: a send that leaves much later must not use the slot. */
      grantedAt: number;
    }
  /** Every candidate provider is excluded, unavailable or out of probe tokens. */
  | { kind: 'none-available' }
  /** maxWaitMs passed without room; `retryAfterMs` says when room opens next. */
  | { kind: 'no-room'; retryAfterMs: number };

export interface WindowCounts {
  /** Sends in the current sliding window. */
  count: number;
  limit: number;
  /** count >= limit */
  limited: boolean;
}

export interface RateLimitSnapshot {
  windowMs: number;
  global: WindowCounts;
  providers: Record<string, WindowCounts & { backoffMs: number; probeTokens: number | null; weight: number }>;
}

export interface DistributionStats {
  /** Sends per provider since `since`. */
  counts: Record<string, number>;
  total: number;
  /** Share per provider (0..1). */
  shares: Record<string, number>;
  weights: Record<string, number>;
  /** Epoch ms of the last reset, or null. */
  since: number | null;
}
