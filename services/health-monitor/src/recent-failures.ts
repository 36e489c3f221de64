import type { OutcomeKind } from '@twillow/contracts';
import type { ProviderId } from '@twillow/config';

/** One non-success outcome as the dashboard lists it. */
export interface RecentFailure {
  provider: ProviderId;
  kind: Exclude<OutcomeKind, 'success'>;
  /** When the outcome reached the stream (its stream id, Redis time), epoch ms. */
  received_at: number;
  latency_ms: number;
  message_id?: string;
  /** The sender's reason, if it gave one (truncated to MAX_ERROR_CHARS). */
  error?: string;
}

const MAX_ERROR_CHARS = 200;

/** The last `capacity` non-success outcomes, newest first; a fixed ring so memory stays flat under an outage. */
export class RecentFailures {
  private readonly ring: RecentFailure[] = [];
  private next = 0;

  /** @param capacity how many failures to keep */
  constructor(readonly capacity = 50) {}

  add(failure: RecentFailure): void {
    const entry = failure.error && failure.error.length > MAX_ERROR_CHARS ? { ...failure, error: `${failure.error.slice(0, MAX_ERROR_CHARS - 1)}…` } : failure;
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first, at most `limit`. */
  list(limit = this.capacity): RecentFailure[] {
    const out: RecentFailure[] = [];
    for (let i = 1; i <= Math.min(limit, this.ring.length); i++) out.push(this.ring[(this.next - i + this.ring.length) % this.ring.length]);
    return out;
  }
}
