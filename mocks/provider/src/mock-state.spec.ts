import { MockState, type MockSettings } from './mock-state';

const settings = (over: Partial<MockSettings> = {}): MockSettings => ({
  rateLimit: 3,
  latencyMs: 0,
  jitterMs: 0,
  failureRate: 0,
  slowMs: 3000,
  dedupe: true,
  ...over,
});

/** A state driven by a hand-moved clock. */
function stateAt(over: Partial<MockSettings> = {}) {
  let now = 0;
  const state = new MockState('provider1', settings(over), 'up', () => now);
  return {
    state,
    /** Receives and runs the limiter for one send arriving at `t` ms. */
    arrive(t: number) {
      now = t;
      return state.admit(state.receive());
    },
  };
}

describe('MockState sliding-window limiter', () => {
  it('throttles the send that would make limit+1 inside (t-1000, t] and lets one through once the oldest leaves', () => {
    const { state, arrive } = stateAt({ rateLimit: 3 });
    expect([0, 1, 2].map((t) => arrive(t).admitted)).toEqual([true, true, true]);
    expect(arrive(999)).toEqual({ admitted: false, retryAfterMs: 1 });
    // At exactly 1000 the send at 0 is outside (t-1000, t], so there is room again.
    expect(arrive(1000).admitted).toBe(true);
    expect(arrive(1000.5).admitted).toBe(false);
    expect(arrive(1001).admitted).toBe(true);
    expect(state.stats()).toMatchObject({ received: 7, throttled: 2 });
  });

  it('does not count throttled sends in the window, so a steady overload still gets the limit through each second', () => {
    const { arrive } = stateAt({ rateLimit: 2 });
    const admittedAt: number[] = [];
    for (let t = 0; t < 3000; t += 100) if (arrive(t).admitted) admittedAt.push(t);
    expect(admittedAt).toEqual([0, 100, 1000, 1100, 2000, 2100]);
  });

  it('applies a lowered rate limit at once, with a Retry-After until enough old sends leave', () => {
    const { state, arrive } = stateAt({ rateLimit: 5 });
    for (const t of [0, 100, 200, 300]) arrive(t);
    state.configure({ rateLimit: 2 });
    // Four in the window, limit two: room opens when the third oldest (200) leaves at 1200.
    expect(arrive(400)).toEqual({ admitted: false, retryAfterMs: 800 });
    expect(state.stats().rate_limit).toBe(2);
  });
});

describe('MockState counters', () => {
  it('reports the most sends received in any 1-second interval, not per fixed second', () => {
    const { state, arrive } = stateAt({ rateLimit: 100 });
    for (const t of [0, 100, 200, 950, 1000, 1150, 1190, 2500]) arrive(t);
    // (190, 1190] holds 200, 950, 1000, 1150, 1190; fixed seconds would show at most 4.
    expect(state.stats().max_in_any_1s_window).toBe(5);
  });

  it('counts throttled sends as received in max_in_any_1s_window', () => {
    const { state, arrive } = stateAt({ rateLimit: 1 });
    for (const t of [0, 10, 20]) arrive(t);
    expect(state.stats()).toMatchObject({ accepted: 0, throttled: 2, max_in_any_1s_window: 3 });
  });

  it('with dedupe on, returns the original reference of an accepted id and counts the repeat as deduplicated, not as a delivery', () => {
    const { state } = stateAt();
    expect(state.deduplicate('a')).toBeUndefined();
    expect(state.recordAccepted('a', 'ref-a')).toEqual({ duplicate: false });
    expect(state.deduplicate('a')).toBe('ref-a');
    expect(state.deduplicate('b')).toBeUndefined();
    expect(state.stats()).toMatchObject({ accepted: 1, duplicates: 0, deduplicated: 1, accepted_ids_count: 1, dedupe: true });
  });

  it('with dedupe off, never deduplicates: a repeat accepted again counts as a duplicate and each id is kept once', () => {
    const { state } = stateAt({ dedupe: false });
    expect(state.recordAccepted('a', 'ref-1')).toEqual({ duplicate: false });
    expect(state.deduplicate('a')).toBeUndefined();
    expect(state.recordAccepted('b')).toEqual({ duplicate: false });
    expect(state.recordAccepted('a', 'ref-2')).toEqual({ duplicate: true });
    expect(state.stats()).toMatchObject({ accepted: 3, duplicates: 1, deduplicated: 0, accepted_ids_count: 2, dedupe: false });
    expect(state.acceptedMessageIds()).toEqual(['a', 'b']);
    state.configure({ dedupe: true });
    expect(state.deduplicate('a')).toBe('ref-1');
  });

  it('reset zeroes counters, ids and both windows but keeps mode and settings', () => {
    const { state, arrive } = stateAt({ rateLimit: 1 });
    arrive(0);
    arrive(1);
    state.recordAccepted('a');
    state.deduplicate('a');
    state.setMode('flaky');
    state.reset();
    expect(state.stats()).toMatchObject({
      mode: 'flaky',
      rate_limit: 1,
      received: 0,
      accepted: 0,
      throttled: 0,
      max_in_any_1s_window: 0,
      duplicates: 0,
      deduplicated: 0,
      accepted_ids_count: 0,
    });
    expect(state.deduplicate('a')).toBeUndefined();
    expect(arrive(2).admitted).toBe(true);
  });

  it('uses the configured failure rate in up and flaky modes, 0.5 for flaky when none is set, and 0 elsewhere', () => {
    const { state } = stateAt({ failureRate: 0 });
    expect(state.failureRate()).toBe(0);
    state.setMode('flaky');
    expect(state.failureRate()).toBe(0.5);
    state.configure({ failureRate: 0.2 });
    expect(state.failureRate()).toBe(0.2);
    state.setMode('up');
    expect(state.failureRate()).toBe(0.2);
    state.setMode('slow');
    expect(state.failureRate()).toBe(0);
  });
});
