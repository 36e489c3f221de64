import type Redis from 'ioredis';
import { HealthStateView, type RedisKeys } from '@twillow/redis';
import { uniquePrefix, waitFor } from '@twillow/testing';
import {
  captureLogger,
  getJson,
  Outcomes,
  recordEvents,
  redisKeys,
  sleep,
  startMonitor,
  storedState,
  testClients,
  transitions,
  type RunningMonitor,
} from './helpers';

const quietLogger = captureLogger([]);

describe('health monitor availability', () => {
  const clients = testClients(quietLogger);
  let prefix: string;
  let keys: RedisKeys;
  let redis: Redis;
  let outcomes: Outcomes;
  let monitor: RunningMonitor | undefined;
  const views: HealthStateView[] = [];

  beforeEach(() => {
    prefix = uniquePrefix('hm');
    keys = redisKeys(prefix);
    redis = clients.make('test');
    outcomes = new Outcomes(redis, keys);
  });

  afterEach(async () => {
    await Promise.all(views.splice(0).map((v) => v.stop()));
    await monitor?.close();
    monitor = undefined;
  });

  afterAll(() => clients.closeAll());

  async function startView(maxAgeMs = 1000): Promise<HealthStateView> {
    const view = new HealthStateView(clients.make('view'), keys, maxAgeMs, quietLogger);
    await view.start(clients.make('view-sub'));
    views.push(view);
    return view;
  }

  it('marks a provider unavailable once failures cross the threshold under steady traffic, and a view started before sees it over pub/sub', async () => {
    monitor = await startMonitor(prefix);
    const viewBefore = await startView();
    const events = await recordEvents(clients.make('events'), keys);
    let failing = false;
    const stop = outcomes.steady('provider1', () => (failing ? 'server_error' : 'success'), 10);
    try {
      await sleep(2100); // a full 2 s window of successes
      expect(viewBefore.effectiveState('provider1')).toBe('available');
      failing = true;
      const downAt = Date.now();
      // An upper bound only (a loaded machine is slow); with threshold 0.5 the ratio is reached after ~1 s.
      await waitFor(() => viewBefore.effectiveState('provider1') === 'unavailable', 5000, 10, 'provider1 unavailable');
      const reactionMs = Date.now() - downAt;
      process.stdout.write(`measured reaction time (window 2000 ms, threshold 0.5, 100 outcomes/s): ${reactionMs} ms\n`);
    } finally {
      stop();
    }
    const [event] = transitions(events);
    expect(event).toMatchObject({ provider: 'provider1', previous: 'available', state: { state: 'unavailable', cooldown_ms: 300 } });
    expect(event.state.reason).toMatch(/^failure ratio 0\.5\d? >= 0\.5 over \d+ outcomes in 2000 ms \(server_error \d+\)$/);
    expect(await storedState(redis, keys, 'provider1')).toMatchObject({ state: 'unavailable' });
    expect(viewBefore.effectiveState('provider2')).toBe('available');
    expect(monitor.logs.find((l) => l.message === 'provider availability changed')).toMatchObject({ provider: 'provider1', previous: 'available', state: 'unavailable' });

    const viewAfter = await startView();
    expect(viewAfter.get('provider1')).toMatchObject({ state: 'unavailable', stale: false });
  });

  it('recovers through probing on a probe success, and doubles the cooldown when a probe fails', async () => {
    monitor = await startMonitor(prefix);
    const events = await recordEvents(clients.make('events'), keys);
    const base = monitor.server.url;

    await outcomes.send('provider1', 'server_error', 10);
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'probing', 5000, 20, 'probing');
    expect(await redis.get(keys.probeTokens('provider1'))).toBe('3');
    const probing = await storedState(redis, keys, 'provider1');
    expect(probing).toMatchObject({ probes_remaining: 3, cooldown_ms: 300 });
    expect(probing!.reason).toBe('cooldown of 300 ms elapsed; letting 3 probe sends through');

    // The limiter spends a token, the probe succeeds.
    await redis.decr(keys.probeTokens('provider1'));
    await outcomes.probeAnswer('provider1', 'success');
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'available', 5000, 20, 'available');
    expect(await storedState(redis, keys, 'provider1')).toMatchObject({ reason: 'probe send succeeded', cooldown_ms: 300 });
    expect(await redis.exists(keys.probeTokens('provider1'))).toBe(0);
    const status = await getJson(`${base}/status/provider1`);
    expect(status.body.window).toMatchObject({ failures: 0 }); // the outage's failures were cleared
    await sleep(200);
    expect((await storedState(redis, keys, 'provider1'))?.state).toBe('available'); // no flip back

    // Down again; this time the probe fails.
    await outcomes.send('provider1', 'timeout', 10);
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'probing', 5000, 20, 'probing again');
    await outcomes.probeAnswer('provider1', 'connection_error');
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'unavailable', 5000, 20, 'unavailable after failed probe');
    expect(await storedState(redis, keys, 'provider1')).toMatchObject({
      cooldown_ms: 600,
      reason: 'probe send failed (connection_error); cooldown now 600 ms',
    });
    expect(await redis.exists(keys.probeTokens('provider1'))).toBe(0);

    expect(transitions(events).map((e) => `${e.previous}->${e.state.state}`)).toEqual([
      'available->unavailable',
      'unavailable->probing',
      'probing->available',
      'available->unavailable',
      'unavailable->probing',
      'probing->unavailable',
    ]);
  });

  it('does not count throttled (429) or rejected answers as failures, and skips malformed stream entries', async () => {
    monitor = await startMonitor(prefix);
    await redis.xadd(keys.outcomeStream, '*', 'e', 'not json');
    await redis.xadd(keys.outcomeStream, '*', 'e', JSON.stringify({ provider: 'provider9', kind: 'success', latency_ms: 1, at: 1 }));
    // 9 failures against 10 successes (0.47) stays below 0.5; were 429s or 4xx failures it would not.
    await outcomes.send('provider1', 'throttled', 20);
    await outcomes.send('provider1', 'rejected', 5);
    await outcomes.send('provider1', 'success', 10);
    await outcomes.send('provider1', 'server_error', 9);
    const report = await waitFor(async () => {
      const r = await getJson(`${monitor!.server.url}/status/provider1`);
      return r.body.window.samples === 19 ? r.body : undefined;
    }, 5000);
    expect(report.window.counts).toEqual({ success: 10, throttled: 20, rejected: 5, server_error: 9, timeout: 0, connection_error: 0 });
    expect(report.window.failure_ratio).toBeCloseTo(9 / 19, 3);
    await sleep(200); // several evaluation rounds
    expect((await storedState(redis, keys, 'provider1'))?.state).toBe('available');
    expect(monitor.logs.some((l) => l.message === 'ignored a malformed outcome event')).toBe(true);
  });

  it('keeps a live unavailable state fresh for readers, and a view treats it as available once the monitor is gone', async () => {
    const env = { HEALTH_COOLDOWN_MS: '10000', HEALTH_MAX_COOLDOWN_MS: '10000', HEALTH_STATE_MAX_AGE_MS: '1500' };
    monitor = await startMonitor(prefix, env);
    const view = await startView(1500);
    await outcomes.send('provider2', 'server_error', 10);
    await waitFor(() => view.effectiveState('provider2') === 'unavailable', 5000, 20, 'unavailable');
    // Longer than the max age: the leader's re-announcements keep the view's copy fresh.
    await sleep(2400);
    expect(view.get('provider2')).toMatchObject({ state: 'unavailable', stale: false });
    expect(view.effectiveState('provider2')).toBe('unavailable');

    await monitor.close();
    monitor = undefined;
    await waitFor(() => view.effectiveState('provider2') === 'available', 3000, 50, 'stale state counted as available');
    expect(view.get('provider2')).toMatchObject({ state: 'unavailable', stale: true });
  });
});
