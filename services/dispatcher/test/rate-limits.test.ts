import { sendRate } from '@twillow/testing';
import { maxInWindow, startHarness, type Harness } from './support';

// Window counts and drain rate are timing on a shared 2-core CI host: one retry, logged, on a fresh
// backlog with the mocks reset; a real regression fails twice.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

/**
 * At the default RATE_LIMIT_MARGIN_MS. A slot is reused one window (1 s + margin) after the answer
 * of the send that held it, so the backlog drains at most at 1000/(1000 + margin + answer latency)
 * of the limit, about 99% with these instant mocks.
 * Dispatchers and mocks run as their own processes, as in production: arrivals are stamped by the
 * providers' own clocks, not by this test's event loop.
 *
 * The core promise: with any number of replicas, no provider sees more than its limit in any
 * 1-second window, the global limit holds, and a backlog drains at >= 95% of the binding limit.
 * Arrival times are taken at the mocks (the provider side), so the windows are the providers' view.
 */
describe('three dispatchers draining a backlog of 1,500 at 50/s per provider', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{ rateLimit: 50 }, { rateLimit: 50 }, { rateLimit: 50 }], { mockProcesses: true });
    // Real processes: three dispatchers in one process would share one event loop.
    await Promise.all([0, 1, 2].map(() => h.spawnDispatcher({ PROVIDER_RATE_LIMIT: '50', TOTAL_RATE_LIMIT: '200' })));
  }, 90000);
  afterAll(() => h.close(), 60000);

  // DESIGN.md asks >= 95%, asserted on the sustained rate (5% to 95% of the sends, as the e2e
  // scenario and the benchmark measure it). Measured here: 98.7-98.9% of 150/s, first to last send
  // 97.9-98.6%; with two busy loops competing for the 2 cores 97.7% / 96.2%, with three 93.8% /
  // 93.3% (limits still held at 50). The whole span includes the workers' start (~0.1-0.3 s while
  // BullMQ fetches their first jobs), so it is held to 93%, a regression guard.
  it('sends every message, keeps each provider within 50 in any 1 s and drains at >= 95% of 150/s', async () => {
    await h.resetMocks();
    const ids = await h.enqueue(1500);
    await h.waitForTerminal(ids, 40000);
    expect(h.statuses(ids)).toEqual({ sent: 1500 });

    const arrivals = await h.arrivals();
    const whole = sendRate(arrivals.flat());
    const sustained = sendRate(arrivals.flat(), 0.05, 0.95);
    // Reported for the record (the run's figures) before the assertions, asserted against the design's promise.
    const pct = (r: number) => `${((r / 150) * 100).toFixed(1)}% of 150/s`;
    process.stdout.write(
      `dispatch rate with 3 dispatchers: sustained (5-95% of sends) ${sustained.perSecond.toFixed(1)}/s (${pct(sustained.perSecond)}); first to last send ${whole.perSecond.toFixed(1)}/s over ${whole.count} sends in ${Math.round(whole.spanMs)} ms (${pct(whole.perSecond)})\n`,
    );
    const stats = await h.stats();
    process.stdout.write(`mocks [received, throttled, max in any 1 s]: ${JSON.stringify(stats.map((s) => [s.received, s.throttled, s.max_in_any_1s_window]))}\n`);
    for (const s of stats) {
      expect(s.max_in_any_1s_window).toBeLessThanOrEqual(50);
      expect(s.throttled).toBe(0);
      expect(s.duplicates).toBe(0);
    }
    for (const times of arrivals) expect(maxInWindow(times)).toBeLessThanOrEqual(50);
    expect(stats.reduce((n, s) => n + s.accepted, 0)).toBe(1500);

    expect(sustained.perSecond).toBeGreaterThanOrEqual(0.95 * 150);
    expect(whole.perSecond).toBeGreaterThanOrEqual(0.93 * 150);
  }, 60000);
});

describe('two dispatchers with 50/50/50 per provider and TOTAL_RATE_LIMIT=100', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{ rateLimit: 50 }, { rateLimit: 50 }, { rateLimit: 50 }], { mockProcesses: true });
    await Promise.all([0, 1].map(() => h.spawnDispatcher({ PROVIDER_RATE_LIMIT: '50', TOTAL_RATE_LIMIT: '100' })));
  }, 90000);
  afterAll(() => h.close(), 60000);

  it('never lets more than 100 sends reach the providers together in any 1 s', async () => {
    await h.resetMocks();
    const ids = await h.enqueue(350);
    await h.waitForTerminal(ids, 30000);
    const these = `request_id IN (${ids.map(() => '?').join(',')})`;
    const outcomes = h.sqlite.prepare(`SELECT provider, outcome, count(*) AS n FROM sms_responses WHERE ${these} GROUP BY provider, outcome`).all(...ids);
    process.stdout.write(`outcomes: ${JSON.stringify(outcomes)} mocks: ${JSON.stringify((await h.stats()).map((s) => [s.received, s.throttled, s.max_in_any_1s_window]))}\n`);
    expect(h.statuses(ids)).toEqual({ sent: 350 });
    const arrivals = await h.arrivals();
    const all = arrivals.flat();
    // Every request that reached a provider is stored (retries after a timeout included).
    expect(all).toHaveLength((h.sqlite.prepare(`SELECT count(*) AS n FROM sms_responses WHERE ${these}`).get(...ids) as { n: number }).n);
    expect(maxInWindow(all)).toBeLessThanOrEqual(100);
    // The global limit binds, not the providers': the total was near 100 in the busiest second.
    expect(maxInWindow(all)).toBeGreaterThanOrEqual(90);
    for (const times of arrivals) expect(maxInWindow(times)).toBeLessThanOrEqual(50);
    expect((await h.stats()).every((s) => s.throttled === 0)).toBe(true);
  }, 45000);
});
