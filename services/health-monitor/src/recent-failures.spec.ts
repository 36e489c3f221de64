import { RecentFailures, type RecentFailure } from './recent-failures';

const failure = (n: number, extra: Partial<RecentFailure> = {}): RecentFailure => ({
  provider: 'provider1',
  kind: 'server_error',
  received_at: n,
  latency_ms: 5,
  ...extra,
});

describe('RecentFailures', () => {
  it('lists the newest first and forgets the oldest beyond its capacity', () => {
    const recent = new RecentFailures(3);
    for (let n = 1; n <= 5; n++) recent.add(failure(n));
    expect(recent.list().map((f) => f.received_at)).toEqual([5, 4, 3]);
    expect(recent.list(2).map((f) => f.received_at)).toEqual([5, 4]);
  });

  it('lists nothing before any failure and fewer than capacity until full', () => {
    const recent = new RecentFailures(3);
    expect(recent.list()).toEqual([]);
    recent.add(failure(1));
    expect(recent.list().map((f) => f.received_at)).toEqual([1]);
  });

  it('truncates a long error text so one chatty provider cannot bloat the dashboard', () => {
    const recent = new RecentFailures(2);
    recent.add(failure(1, { error: 'x'.repeat(1000) }));
    expect(recent.list()[0].error).toHaveLength(200);
    expect(recent.list()[0].error!.endsWith('…')).toBe(true);
  });
});
