import type Redis from 'ioredis';
import { apiKeyAuth, listen } from '@twillow/http';
import { createMetrics } from '@twillow/metrics';
import { RequestContext } from '@twillow/logger';
import { createRedis, type RedisKeys } from '@twillow/redis';
import { uniquePrefix, waitFor } from '@twillow/testing';
import { createApp } from '../src/status.app';
import { captureLogger, getJson, Outcomes, recordEvents, redisKeys, startMonitor, storedState, testClients, transitions, type RunningMonitor } from './helpers';

const quietLogger = captureLogger([]);

describe('health monitor status endpoints', () => {
  const clients = testClients(quietLogger);
  let keys: RedisKeys;
  let redis: Redis;
  let monitor: RunningMonitor;

  beforeAll(async () => {
    const prefix = uniquePrefix('hm');
    keys = redisKeys(prefix);
    redis = clients.make('test');
    monitor = await startMonitor(prefix, { HEALTH_COOLDOWN_MS: '10000', HEALTH_MAX_COOLDOWN_MS: '10000' });
  });

  afterAll(async () => {
    await monitor.close();
    await clients.closeAll();
  });

  it('GET /health answers healthy while Redis answers', async () => {
    expect(await getJson(`${monitor.server.url}/health`)).toEqual({ status: 200, body: { status: 'healthy' } });
  });

  it('GET /health answers 503 with a JSON error when Redis does not answer', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'command', quietLogger, 'dead');
    const app = createApp({ monitor: monitor.service.monitor, redis: dead, keys, logger: quietLogger, context: new RequestContext() });
    const server = await listen(app, 0, '127.0.0.1');
    try {
      const res = await getJson(`${server.url}/health`);
      expect(res).toMatchObject({ status: 503, body: { status: 503, code: 'DEPENDENCY.REDIS_UNAVAILABLE' } });
    } finally {
      await server.close();
      dead.disconnect();
    }
  });

  it('GET /status shows every provider with window counts, ratio, latency and leadership', async () => {
    const outcomes = new Outcomes(redis, keys);
    for (const latency of [10, 20, 30, 40, 200]) await outcomes.send('provider1', 'success', 1, latency);
    await outcomes.send('provider1', 'timeout', 2, 500);
    await outcomes.send('provider1', 'throttled', 1);
    const res = await waitFor(async () => {
      const r = await getJson(`${monitor.server.url}/status`);
      return r.body.providers[0].window.samples === 7 ? r : undefined;
    }, 5000);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ leader: true, replica: expect.any(String) });
    expect(res.body.providers.map((p: { provider: string }) => p.provider)).toEqual(['provider1', 'provider2', 'provider3']);
    expect(res.body.providers[0]).toMatchObject({
      provider: 'provider1',
      state: 'available',
      reason: 'no outcomes yet',
      cooldown_ms: 10000,
      probes_remaining: 0,
      updated_at: expect.any(Number),
      window: {
        window_ms: 2000,
        counts: { success: 5, timeout: 2, throttled: 1, server_error: 0, connection_error: 0, rejected: 0 },
        successes: 5,
        failures: 2,
        samples: 7,
        min_samples: 10,
        failure_ratio: 0.2857,
        failure_threshold: 0.5,
      },
      latency_ms: { p50: 30, p95: 200 },
    });
  });

  it('GET /status/:provider shows one provider and answers a JSON 404 for an unknown one', async () => {
    const one = await getJson(`${monitor.server.url}/status/provider2`);
    expect(one).toMatchObject({ status: 200, body: { provider: 'provider2', leader: true, state: 'available' } });
    const unknown = await getJson(`${monitor.server.url}/status/provider9`);
    expect(unknown).toMatchObject({ status: 404, body: { status: 404, code: 'PROVIDER.UNKNOWN' } });
    const noRoute = await getJson(`${monitor.server.url}/nope`);
    expect(noRoute).toMatchObject({ status: 404, body: { code: 'REQUEST.NOT_FOUND' } });
  });

  it('POST /status/:provider/reset on the leader makes the provider available at once and publishes it', async () => {
    const outcomes = new Outcomes(redis, keys);
    const events = await recordEvents(clients.make('events'), keys);
    await outcomes.send('provider3', 'server_error', 10);
    await waitFor(async () => (await storedState(redis, keys, 'provider3'))?.state === 'unavailable', 5000, 20, 'down');

    const res = await getJson(`${monitor.server.url}/status/provider3/reset`, { method: 'POST' });
    expect(res).toMatchObject({ status: 200, body: { reset: true, leader: true, state: { provider: 'provider3', state: 'available', reason: 'reset by operator', cooldown_ms: 10000 } } });
    expect(await storedState(redis, keys, 'provider3')).toMatchObject({ state: 'available', reason: 'reset by operator' });
    await waitFor(() => transitions(events).length === 2, 2000, 20, 'two events');
    expect(transitions(events)[1]).toMatchObject({ provider: 'provider3', previous: 'unavailable', state: { state: 'available' } });
    const after = await getJson(`${monitor.server.url}/status/provider3`);
    expect(after.body).toMatchObject({ state: 'available', window: { failures: 0, samples: 0 } });
    expect(await getJson(`${monitor.server.url}/status/provider9/reset`, { method: 'POST' })).toMatchObject({ status: 404 });
  });

  it('refuses resets and /metrics without the admin key once keys are configured', async () => {
    const auth = apiKeyAuth({ apiKeys: ['user-key'], adminKey: 'admin-key' });
    const app = createApp({
      monitor: monitor.service.monitor,
      redis,
      keys,
      logger: quietLogger,
      context: new RequestContext(),
      metrics: { metrics: createMetrics('hm-test') },
      requireAdmin: auth.requireAdmin,
    });
    const server = await listen(app, 0, '127.0.0.1');
    try {
      const reset = (headers: Record<string, string>) => fetch(`${server.url}/status/provider2/reset`, { method: 'POST', headers });
      expect((await reset({})).status).toBe(401);
      expect((await reset({ 'X-API-Key': 'user-key' })).status).toBe(403);
      expect((await reset({ Authorization: 'Bearer admin-key' })).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': 'admin-key' } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

