import fs from 'node:fs';
import { sendRate, tempDir, uniquePrefix, waitFor } from './index';

describe('test helpers', () => {
  it('gives every call its own prefix', () => {
    expect(uniquePrefix('x')).not.toBe(uniquePrefix('x'));
  });

  it('removes the temporary directory on cleanup', () => {
    const { dir, cleanup } = tempDir();
    expect(fs.existsSync(dir)).toBe(true);
    cleanup();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('waitFor times out with the name of what it waited for', async () => {
    await expect(waitFor(() => false, 100, 10, 'the moon')).rejects.toThrow('the moon');
    await expect(waitFor(() => 42, 100)).resolves.toBe(42);
  });

  it('sendRate: from the first to the last event, or between two fractions of them', () => {
    // 101 events 10 ms apart, then one straggler 1 s later.
    const times = [...Array.from({ length: 101 }, (_, i) => i * 10), 2000];
    expect(sendRate(times)).toEqual({ count: 102, spanMs: 2000, perSecond: 50.5 });
    // Between the 5% and the 95% event the straggler is left out: 100 per second.
    expect(sendRate(times, 0.05, 0.95).perSecond).toBeCloseTo(100);
    expect(sendRate([5])).toEqual({ count: 1, spanMs: 0, perSecond: 0 });
  });
});
