import type { OutcomeKind } from '@twillow/contracts';

/** Outcome kinds that count against a provider's health. */
export const FAILURE_KINDS = ['server_error', 'timeout', 'connection_error'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export function isFailure(kind: OutcomeKind): kind is FailureKind {
  return (FAILURE_KINDS as readonly string[]).includes(kind);
}

export interface WindowEntry {
  kind: OutcomeKind;
  latencyMs: number;
  /** When the outcome reached the stream (its stream id), epoch ms. Entries are kept in this order. */
  receivedAt: number;
}

export type KindCounts = Record<OutcomeKind, number>;

/** What the policy and the status page see of one provider's window. */
export interface WindowSummary {
  /** Window length, ms. */
  windowMs: number;
  counts: KindCounts;
  successes: number;
  /** server_error + timeout + connection_error. Throttled (429) and rejected (permanent 4xx) are not failures. */
  failures: number;
  /** successes + failures: the samples the failure ratio rests on. */
  samples: number;
  /** failures / samples, or 0 without samples. */
  failureRatio: number;
}

export interface ProbeVerdict {
  outcome: 'success' | 'failure';
  kind: OutcomeKind;
  receivedAt: number;
}

const zeroCounts = (): KindCounts => ({
  success: 0,
  throttled: 0,
  server_error: 0,
  timeout: 0,
  connection_error: 0,
  rejected: 0,
});

/**
 * A time-based sliding window of one provider's outcomes. Entries arrive in stream order, so
 * expiry only ever drops from the head; counts are kept incrementally and percentiles computed on
 * demand (only the status page asks for them).
 */
export class OutcomeWindow {
  private entries: WindowEntry[] = [];
  private head = 0;
  private readonly counts = zeroCounts();

  /** @param windowMs length of the window, ms */
  constructor(readonly windowMs: number) {}

  add(entry: WindowEntry): void {
    this.entries.push(entry);
    this.counts[entry.kind] += 1;
  }

  /** Drops entries received before `now - windowMs`. */
  expire(now: number): void {
    this.dropBefore(now - this.windowMs);
  }

  /** Drops every entry received before `at` (epoch ms); `clear()` drops all. */
  dropBefore(at: number): void {
    while (this.head < this.entries.length && this.entries[this.head].receivedAt < at) {
      this.counts[this.entries[this.head].kind] -= 1;
      this.head += 1;
    }
    // Compact once the dead head is the larger part, so memory stays proportional to the window.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    for (const k of Object.keys(this.counts) as OutcomeKind[]) this.counts[k] = 0;
  }

  summary(now: number): WindowSummary {
    this.expire(now);
    const counts = { ...this.counts };
    const successes = counts.success;
    const failures = counts.server_error + counts.timeout + counts.connection_error;
    const samples = successes + failures;
    return { windowMs: this.windowMs, counts, successes, failures, samples, failureRatio: samples === 0 ? 0 : failures / samples };
  }

  /**
   * The first success or failure whose request was sent at or after `sentSince` (received time minus
   * latency): the verdict of a probe. Outcomes of requests sent before probing began (late timeouts)
   * are not probes. Throttled and rejected answers give no verdict.
   */
  probeVerdict(sentSince: number): ProbeVerdict | undefined {
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.receivedAt < sentSince || e.receivedAt - e.latencyMs < sentSince) continue;
      if (e.kind === 'success') return { outcome: 'success', kind: e.kind, receivedAt: e.receivedAt };
      if (isFailure(e.kind)) return { outcome: 'failure', kind: e.kind, receivedAt: e.receivedAt };
    }
    return undefined;
  }

  /** Latency percentiles (nearest rank) of the successful sends in the window, ms; null without any. */
  latency(now: number): { p50: number | null; p95: number | null } {
    this.expire(now);
    const values: number[] = [];
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i].kind === 'success') values.push(this.entries[i].latencyMs);
    if (values.length === 0) return { p50: null, p95: null };
    values.sort((a, b) => a - b);
    const rank = (p: number) => values[Math.min(values.length - 1, Math.max(0, Math.ceil(p * values.length) - 1))];
    return { p50: rank(0.5), p95: rank(0.95) };
  }
}
