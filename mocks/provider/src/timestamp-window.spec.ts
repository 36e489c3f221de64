import { TimestampWindow } from './timestamp-window';

describe('TimestampWindow', () => {
  it('keeps exactly the timestamps in (now - span, now] across many evictions and compactions', () => {
    const w = new TimestampWindow(1000);
    for (let t = 0; t < 10_000; t++) {
      w.evict(t);
      w.push(t);
    }
    w.evict(9_999);
    expect(w.size).toBe(1000);
    expect(w.at(0)).toBe(9_000);
    expect(w.at(999)).toBe(9_999);
    expect(w.at(1000)).toBeUndefined();
  });
});
