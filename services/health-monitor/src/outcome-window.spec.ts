import { OutcomeWindow } from './outcome-window';

describe('OutcomeWindow', () => {
  it('counts outcomes by kind and computes the failure ratio over successes and failures only', () => {
    const w = new OutcomeWindow(1000);
    for (const kind of ['success', 'success', 'server_error', 'timeout', 'connection_error', 'throttled', 'rejected'] as const) {
      w.add({ kind, latencyMs: 10, receivedAt: 100 });
    }
    const s = w.summary(100);
    expect(s.counts).toEqual({ success: 2, server_error: 1, timeout: 1, connection_error: 1, throttled: 1, rejected: 1 });
    expect(s).toMatchObject({ successes: 2, failures: 3, samples: 5, failureRatio: 0.6 });
  });

  it('forgets outcomes older than the window', () => {
    const w = new OutcomeWindow(1000);
    w.add({ kind: 'server_error', latencyMs: 1, receivedAt: 100 });
    w.add({ kind: 'success', latencyMs: 1, receivedAt: 600 });
    expect(w.summary(1099).samples).toBe(2);
    expect(w.summary(1101)).toMatchObject({ samples: 1, failures: 0, successes: 1 });
    expect(w.summary(1601).samples).toBe(0);
  });

  it('drops entries received before a given time', () => {
    const w = new OutcomeWindow(10_000);
    w.add({ kind: 'server_error', latencyMs: 1, receivedAt: 100 });
    w.add({ kind: 'success', latencyMs: 1, receivedAt: 200 });
    w.dropBefore(150);
    expect(w.summary(300)).toMatchObject({ failures: 0, successes: 1 });
  });

  it('reports success latency percentiles by nearest rank', () => {
    const w = new OutcomeWindow(10_000);
    for (let i = 1; i <= 100; i++) w.add({ kind: 'success', latencyMs: i, receivedAt: 100 });
    w.add({ kind: 'timeout', latencyMs: 5000, receivedAt: 100 });
    expect(w.latency(100)).toEqual({ p50: 50, p95: 95 });
    expect(new OutcomeWindow(1000).latency(0)).toEqual({ p50: null, p95: null });
  });

  it('finds the first probe verdict among requests sent after probing began, ignoring late answers and 429s', () => {
    const w = new OutcomeWindow(10_000);
    w.add({ kind: 'timeout', latencyMs: 5000, receivedAt: 1100 }); // sent at -3900: before probing
    w.add({ kind: 'throttled', latencyMs: 5, receivedAt: 1200 });
    w.add({ kind: 'success', latencyMs: 20, receivedAt: 1300 });
    w.add({ kind: 'server_error', latencyMs: 5, receivedAt: 1400 });
    expect(w.probeVerdict(1000)).toEqual({ outcome: 'success', kind: 'success', receivedAt: 1300 });
    expect(w.probeVerdict(1350)).toEqual({ outcome: 'failure', kind: 'server_error', receivedAt: 1400 });
    expect(w.probeVerdict(1500)).toBeUndefined();
  });
});
