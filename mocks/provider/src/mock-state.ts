import { performance } from 'node:perf_hooks';
import { TimestampWindow } from './timestamp-window';

export const MOCK_MODES = ['up', 'down', 'flaky', 'slow', 'timeout', 'reject'] as const;
/**
 * - up: normal; random 500s at the failure rate.
 * - down: every send answers 503.
 * - flaky: random 500s at the failure rate, or at 0.5 when the rate is 0.
 * - slow: answers (normally) only after slowMs.
 * - timeout: never answers; the socket stays open until the client leaves or the server closes.
 * - reject: every send answers 400 (a permanent rejection).
 */
export type MockMode = (typeof MOCK_MODES)[number];

/** Failure rate flaky mode uses when none is configured. */
export const FLAKY_DEFAULT_FAILURE_RATE = 0.5;

/** What can be changed at run time through POST /admin/config. */
export interface MockSettings {
  /** Requests let through in any 1-second interval before 429. */
  rateLimit: number;
  /** Fixed delay before every answer, in ms. */
  latencyMs: number;
  /** Uniform random extra delay in [0, jitterMs), in ms. */
  jitterMs: number;
  /** Probability (0..1) of a random 500 in up and flaky modes. */
  failureRate: number;
  /** Delay of every answer in slow mode, in ms (instead of latency and jitter). */
  slowMs: number;
  /**
   * Behave as the provider contract asks (DESIGN.md): a message_id accepted before is answered 200
   * with the ORIGINAL reference and not delivered again (counted as `deduplicated`). false: every
   * repeat is accepted as a new delivery (counted in `duplicates`), what a naive provider would do.
   */
  dedupe: boolean;
}

/** The JSON of GET /admin/stats. */
export interface MockStats {
  provider: string;
  mode: MockMode;
  rate_limit: number;
  /** Sends that arrived, whatever the answer. */
  received: number;
  /** Sends accepted as deliveries (deduplicated repeats are not counted here). */
  accepted: number;
  /** Sends answered 5xx (random failures, flaky, down). */
  failed: number;
  /** Sends answered 429 because the sliding-window limit was spent. */
  throttled: number;
  /** Sends answered 400 (invalid body or reject mode). */
  rejected: number;
  /** Sends held without an answer in timeout mode. */
  unanswered: number;
  /** Most sends RECEIVED in any 1-second interval since start or reset. */
  max_in_any_1s_window: number;
  /** Sends accepted as NEW deliveries although their message_id had been accepted before (only with dedupe off; 0 with it on). */
  duplicates: number;
  /** Repeats of an accepted message_id answered with the original reference and not delivered again (dedupe on). */
  deduplicated: number;
  /** Distinct message ids accepted. */
  accepted_ids_count: number;
  dedupe: boolean;
  latency_ms: number;
  jitter_ms: number;
  failure_rate: number;
  slow_ms: number;
}

export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number };

/** Milliseconds from a monotonic clock; wall-clock jumps must not open or close the window. */
export type MonotonicClock = () => number;

const WINDOW_MS = 1000;
/** Arrival times kept for GET /admin/arrivals; later arrivals are counted, not kept (bounded memory). */
export const ARRIVAL_LOG_CAP = 200_000;

/**
 * Counters, the sliding-window limiter and the mode of one provider mock. All decisions use the
 * injected monotonic clock, so unit tests can drive time by hand.
 */
export class MockState {
  private currentMode: MockMode;
  private current: MockSettings;
  /** Sends let through by the limiter in the last second. */
  private readonly admitted = new TimestampWindow(WINDOW_MS);
  /** Sends received in the last second, for max_in_any_1s_window. */
  private readonly arrivals = new TimestampWindow(WINDOW_MS);
  /** Every arrival time (monotonic ms) since the last reset, up to ARRIVAL_LOG_CAP. */
  private arrivalLog: number[] = [];
  /** Accepted message id -> the reference given at its first acceptance. */
  private readonly acceptedIds = new Map<string, string>();
  private counters = MockState.zeroCounters();

  constructor(
    readonly providerId: string,
    settings: MockSettings,
    mode: MockMode = 'up',
    private readonly now: MonotonicClock = () => performance.now(),
  ) {
    this.current = { ...settings };
    this.currentMode = mode;
  }

  private static zeroCounters() {
    return { received: 0, accepted: 0, failed: 0, throttled: 0, rejected: 0, unanswered: 0, maxInWindow: 0, duplicates: 0, deduplicated: 0 };
  }

  get mode(): MockMode {
    return this.currentMode;
  }

  setMode(mode: MockMode): MockMode {
    const previous = this.currentMode;
    this.currentMode = mode;
    return previous;
  }

  get settings(): Readonly<MockSettings> {
    return this.current;
  }

  configure(patch: Partial<MockSettings>): Readonly<MockSettings> {
    this.current = { ...this.current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    return this.current;
  }

  /** Failure probability of the current mode. */
  failureRate(): number {
    if (this.currentMode === 'up') return this.current.failureRate;
    if (this.currentMode === 'flaky') return this.current.failureRate > 0 ? this.current.failureRate : FLAKY_DEFAULT_FAILURE_RATE;
    return 0;
  }

  /** Records one arriving send; returns its arrival time (monotonic ms). */
  receive(): number {
    const t = this.now();
    this.counters.received++;
    this.arrivals.evict(t);
    this.arrivals.push(t);
    if (this.arrivalLog.length < ARRIVAL_LOG_CAP) this.arrivalLog.push(t);
    if (this.arrivals.size > this.counters.maxInWindow) this.counters.maxInWindow = this.arrivals.size;
    return t;
  }

  /**
   * The limiter: a send arriving at `t` is let through unless `rateLimit` sends were already let
   * through in (t - 1000 ms, t]. A throttled send is counted and not added to the window.
   */
  admit(t: number): Admission {
    this.admitted.evict(t);
    const limit = this.current.rateLimit;
    if (this.admitted.size < limit) {
      this.admitted.push(t);
      return { admitted: true };
    }
    this.counters.throttled++;
    // Room opens when the (size - limit + 1)-th oldest admission leaves the window.
    const freesAt = (this.admitted.at(this.admitted.size - limit) ?? t) + WINDOW_MS;
    return { admitted: false, retryAfterMs: Math.max(0, freesAt - t) };
  }

  /**
   * With dedupe on: the reference of `messageId` if it was accepted before; the repeat is counted
   * as deduplicated (answered, not delivered again). undefined otherwise (and always with dedupe off).
   */
  deduplicate(messageId: string): string | undefined {
    if (!this.current.dedupe) return undefined;
    const reference = this.acceptedIds.get(messageId);
    if (reference !== undefined) this.counters.deduplicated++;
    return reference;
  }

  /**
   * Records an accepted send (a delivery) with its reference; says whether its message id had been
   * accepted before (only possible with dedupe off). The first reference of an id is kept.
   */
  recordAccepted(messageId: string, reference = ''): { duplicate: boolean } {
    this.counters.accepted++;
    const duplicate = this.acceptedIds.has(messageId);
    if (duplicate) this.counters.duplicates++;
    else this.acceptedIds.set(messageId, reference);
    return { duplicate };
  }

  recordFailed(): void {
    this.counters.failed++;
  }

  recordRejected(): void {
    this.counters.rejected++;
  }

  recordUnanswered(): void {
    this.counters.unanswered++;
  }

  /** Accepted message ids, in the order first accepted. */
  acceptedMessageIds(): string[] {
    return [...this.acceptedIds.keys()];
  }

  /**
   * Arrival times (monotonic ms, this process's clock) since the last reset, in order; the first
   * ARRIVAL_LOG_CAP only. Tests check every 1-second window with them, and measure send rates
   * where the provider sees them.
   */
  arrivalTimes(): readonly number[] {
    return this.arrivalLog;
  }

  /** Zeroes every counter, forgets accepted ids and arrivals and empties both windows; mode and settings stay. */
  reset(): void {
    this.counters = MockState.zeroCounters();
    this.arrivalLog = [];
    this.acceptedIds.clear();
    this.admitted.clear();
    this.arrivals.clear();
  }

  stats(): MockStats {
    const c = this.counters;
    return {
      provider: this.providerId,
      mode: this.currentMode,
      rate_limit: this.current.rateLimit,
      received: c.received,
      accepted: c.accepted,
      failed: c.failed,
      throttled: c.throttled,
      rejected: c.rejected,
      unanswered: c.unanswered,
      max_in_any_1s_window: c.maxInWindow,
      duplicates: c.duplicates,
      deduplicated: c.deduplicated,
      accepted_ids_count: this.acceptedIds.size,
      dedupe: this.current.dedupe,
      latency_ms: this.current.latencyMs,
      jitter_ms: this.current.jitterMs,
      failure_rate: this.current.failureRate,
      slow_ms: this.current.slowMs,
    };
  }
}
