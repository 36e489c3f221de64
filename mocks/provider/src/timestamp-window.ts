/**
 * Timestamps (ms, from a monotonic clock) of the events inside a sliding window of `spanMs`,
 * oldest first. A timestamp t is inside the window ending at `now` when now - spanMs < t <= now.
 * Amortised O(1) per event, so a mock under benchmark load does not slow down as the log grows.
 */
export class TimestampWindow {
  private items: number[] = [];
  private head = 0;

  /** @param spanMs length of the window, in ms */
  constructor(readonly spanMs = 1000) {}

  /** Drops every timestamp at or before `now - spanMs`. */
  evict(now: number): void {
    const edge = now - this.spanMs;
    while (this.head < this.items.length && this.items[this.head] <= edge) this.head++;
    // Compact now and then instead of shifting on every eviction.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  push(t: number): void {
    this.items.push(t);
  }

  /** Timestamps currently held (call `evict` first to count only the live window). */
  get size(): number {
    return this.items.length - this.head;
  }

  /** The i-th oldest timestamp held (0 = oldest). */
  at(i: number): number | undefined {
    return i >= 0 && i < this.size ? this.items[this.head + i] : undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
