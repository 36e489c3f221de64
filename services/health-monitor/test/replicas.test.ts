import type Redis from 'ioredis';
import { publishHealthReset, type RedisKeys } from '@twillow/redis';
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

describe('health monitor replicas', () => {
  const clients = testClients(quietLogger);
  let prefix: string;
  let keys: RedisKeys;
  let redis: Redis;
  let outcomes: Outcomes;
  const running: RunningMonitor[] = [];

  const start = async (env: Record<string, string> = {}, id?: string) => {
    const m = await startMonitor(prefix, env, id);
    running.push(m);
    return m;
  };

  beforeEach(() => {
    prefix = uniquePrefix('hm');
    keys = redisKeys(prefix);
    redis = clients.make('test');
    outcomes = new Outcomes(redis, keys);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((m) => m.close()));
  });

  afterAll(() => clients.closeAll());

  it('resumes after a restart without publishing spurious transitions, even with the old failures still in the stream', async () => {
    const env = { HEALTH_WINDOW_MS: '4000', HEALTH_COOLDOWN_MS: '1200' };
    const first = await start(env, 'first');
    // provider3: down, probed, recovered; its failures stay in the stream inside the window.
    await outcomes.send('provider3', 'server_error', 12);
    await waitFor(async () => (await storedState(redis, keys, 'provider3'))?.state === 'probing', 10_000, 20, 'provider3 probing');
    await outcomes.probeAnswer('provider3', 'success');
    await waitFor(async () => (await storedState(redis, keys, 'provider3'))?.state === 'available', 5000, 20, 'provider3 recovered');
    // provider1: down now, still cooling down at the restart.
    await outcomes.send('provider1', 'timeout', 12);
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'unavailable', 5000, 20, 'provider1 down');
    // provider2: healthy traffic.
    await outcomes.send('provider2', 'success', 20);
    const before = await redis.hgetall(keys.healthState);

    const events = await recordEvents(clients.make('events'), keys);
    await first.close();
    expect(await redis.exists(keys.healthLeader)).toBe(0); // lease released on stop
    const second = await start(env, 'second');
    expect(second.service.monitor.isLeader()).toBe(true);
    await sleep(400); // several evaluation and refresh rounds

    expect(transitions(events)).toEqual([]);
    for (const p of ['provider1', 'provider2', 'provider3']) {
      const now = await storedState(redis, keys, p);
      const then = JSON.parse(before[p]);
      expect({ p, state: now?.state, since: now?.since, reason: now?.reason }).toEqual({ p, state: then.state, since: then.since, reason: then.reason });
      expect(now!.updated_at).toBeGreaterThan(then.updated_at); // the new leader refreshes
    }
    const status = await getJson(`${second.server.url}/status`);
    const byId = Object.fromEntries(status.body.providers.map((r: { provider: string }) => [r.provider, r]));
    expect(byId.provider2.window.counts.success).toBe(20); // window rebuilt from the stream
    expect(byId.provider1.window.counts.timeout).toBe(12);
    expect(byId.provider3.window.failures).toBe(0); // failures before the recovery stay forgotten
  });

  it('runs two replicas with one leader and consistent states, and the follower takes over when the leader stops', async () => {
    // A longer lease than TEST_ENV's, so a loaded machine does not hand it over by itself.
    const env = { HEALTH_COOLDOWN_MS: '1000', HEALTH_LEASE_MS: '1500' };
    const a = await start(env, 'replica-a');
    const b = await start(env, 'replica-b');
    const events = await recordEvents(clients.make('events'), keys);
    expect([a.service.monitor.isLeader(), b.service.monitor.isLeader()]).toEqual([true, false]);
    expect(await redis.get(keys.healthLeader)).toBe('replica-a');

    await outcomes.send('provider1', 'server_error', 10);
    await outcomes.send('provider2', 'success', 5);
    const statusOf = async (m: RunningMonitor) => (await getJson(`${m.server.url}/status/provider1`)).body;
    await waitFor(async () => (await statusOf(b)).state === 'unavailable', 5000, 20, 'follower mirrors the state');
    const [sa, sb] = [await statusOf(a), await statusOf(b)];
    expect(sb).toMatchObject({ leader: false, state: 'unavailable', since: sa.since, reason: sa.reason, cooldown_ms: sa.cooldown_ms });
    expect(sb.window.counts.server_error).toBe(10); // the follower's window is warm
    expect(sa.leader).toBe(true);

    // A reset asked of the follower is forwarded to the leader, which applies it.
    const forwarded = await getJson(`${b.server.url}/status/provider1/reset`, { method: 'POST' });
    expect(forwarded).toMatchObject({ status: 202, body: { reset: 'requested', leader: false, heard_by: 2 } });
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.reason === 'reset by operator', 5000, 20, 'reset applied');
    await waitFor(async () => (await statusOf(b)).state === 'available', 5000, 20, 'follower sees the reset');
    expect((await statusOf(b)).window.failures).toBe(0);

    await outcomes.send('provider1', 'server_error', 10);
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'unavailable', 5000, 20, 'down again');
    await a.close();
    await waitFor(() => b.service.monitor.isLeader(), 5000, 20, 'follower takes the lease');
    expect(await redis.get(keys.healthLeader)).toBe('replica-b');
    // The new leader carries on the state machine it inherited: cooldown -> probing.
    await waitFor(async () => (await storedState(redis, keys, 'provider1'))?.state === 'probing', 5000, 20, 'probing by the new leader');
    expect(await redis.get(keys.probeTokens('provider1'))).toBe('3');

    expect(transitions(events).map((e) => `${e.provider}:${e.previous}->${e.state.state}`)).toEqual([
      'provider1:available->unavailable',
      'provider1:unavailable->available', // the reset
      'provider1:available->unavailable',
      'provider1:unavailable->probing',
    ]);
  });

  it('applies a reset command published by another service (publishHealthReset)', async () => {
    const m = await start();
    const events = await recordEvents(clients.make('events'), keys);
    await outcomes.send('provider2', 'connection_error', 10);
    await waitFor(async () => (await storedState(redis, keys, 'provider2'))?.state === 'unavailable', 5000, 20, 'down');
    expect(await publishHealthReset(redis, keys, 'provider2')).toBe(1);
    await waitFor(async () => (await storedState(redis, keys, 'provider2'))?.state === 'available', 5000, 20, 'reset');
    expect(transitions(events).at(-1)).toMatchObject({ provider: 'provider2', previous: 'unavailable', state: { reason: 'reset by operator' } });
    expect((await getJson(`${m.server.url}/status/provider2`)).body.window.failures).toBe(0);
  });
});
