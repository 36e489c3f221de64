import Redis from 'ioredis';
import { createLogger } from '@twillow/logger';
import { testRedisUrl, uniquePrefix, waitFor } from '@twillow/testing';
import type { ProviderHealthState } from '@twillow/contracts';
import { HealthStateView, OutcomePublisher, redisKeys } from '../src';

const logger = createLogger({ service: 'redis-test', version: 'test', level: 'error' });

function state(provider: 'provider1' | 'provider2', s: ProviderHealthState['state'], updatedAt = Date.now()): ProviderHealthState {
  return { provider, state: s, since: updatedAt, reason: 'test', updated_at: updatedAt, cooldown_ms: 1000, probes_remaining: 0 };
}

describe('HealthStateView', () => {
  const keys = redisKeys(uniquePrefix('hv'));
  let redis: Redis;
  const subs: Redis[] = [];
  const views: HealthStateView[] = [];

  async function view(maxAgeMs = 30000): Promise<HealthStateView> {
    const sub = new Redis(testRedisUrl());
    subs.push(sub);
    const v = new HealthStateView(redis, keys, maxAgeMs, logger);
    views.push(v);
    await v.start(sub);
    return v;
  }

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    for (const v of views) await v.stop();
    await redis.del(keys.healthState, keys.outcomeStream);
    await Promise.all([...subs, redis].map((c) => c.quit()));
  });

  it('treats a provider with no stored state as available', async () => {
    const v = await view();
    expect(v.effectiveState('provider1')).toBe('available');
  });

  it('reads the stored state at start and follows transitions over pub/sub', async () => {
    await redis.hset(keys.healthState, 'provider1', JSON.stringify(state('provider1', 'unavailable')));
    const v = await view();
    expect(v.effectiveState('provider1')).toBe('unavailable');
    const next = state('provider1', 'available', Date.now() + 1);
    await redis.publish(keys.availabilityChannel, JSON.stringify({ provider: 'provider1', previous: 'unavailable', state: next }));
    await waitFor(() => v.effectiveState('provider1') === 'available', 2000, 10, 'the transition');
  });

  it('treats a state older than the maximum age as available, so a dead monitor never stops traffic', async () => {
    await redis.hset(keys.healthState, 'provider2', JSON.stringify(state('provider2', 'unavailable', Date.now() - 5000)));
    const v = await view(1000);
    expect(v.get('provider2')).toMatchObject({ state: 'unavailable', stale: true });
    expect(v.effectiveState('provider2')).toBe('available');
  });

  it('ignores a malformed broadcast', async () => {
    const v = await view();
    const before = v.effectiveState('provider1');
    await redis.publish(keys.availabilityChannel, '{not json');
    await new Promise((r) => setTimeout(r, 50));
    expect(v.effectiveState('provider1')).toBe(before);
  });
});

describe('OutcomePublisher', () => {
  it('appends validated outcome events to the stream', async () => {
    const keys = redisKeys(uniquePrefix('op'));
    const redis = new Redis(testRedisUrl());
    try {
      await new OutcomePublisher(redis, keys).publish({ provider: 'provider3', kind: 'timeout', latency_ms: 5000, at: 1 });
      const entries = await redis.xrange(keys.outcomeStream, '-', '+');
      expect(entries).toHaveLength(1);
      expect(JSON.parse(entries[0][1][1])).toEqual({ provider: 'provider3', kind: 'timeout', latency_ms: 5000, at: 1 });
    } finally {
      await redis.del(keys.outcomeStream);
      await redis.quit();
    }
  });
});

describe('HealthStateView freshness', () => {
  it('keeps a state fresh that the monitor keeps refreshing in the hash, and does not report re-announcements as transitions', async () => {
    const keys = redisKeys(uniquePrefix('hvf'));
    const redis = new Redis(testRedisUrl());
    const sub = new Redis(testRedisUrl());
    const view = new HealthStateView(redis, keys, 600, logger);
    try {
      const write = () => redis.hset(keys.healthState, 'provider1', JSON.stringify(state('provider1', 'unavailable')));
      await write();
      await view.start(sub);
      const transitions: string[] = [];
      view.onTransition((e) => transitions.push(`${e.previous}->${e.state.state}`));
      const timer = setInterval(() => void write(), 150);
      await new Promise((r) => setTimeout(r, 1000));
      clearInterval(timer);
      expect(view.effectiveState('provider1')).toBe('unavailable');
      await redis.publish(keys.availabilityChannel, JSON.stringify({ provider: 'provider1', previous: 'unavailable', state: state('provider1', 'unavailable') }));
      await redis.publish(keys.availabilityChannel, JSON.stringify({ provider: 'provider1', previous: 'unavailable', state: state('provider1', 'probing') }));
      await waitFor(() => transitions.length > 0, 2000, 10, 'a transition');
      expect(transitions).toEqual(['unavailable->probing']);
    } finally {
      await view.stop();
      await redis.del(keys.healthState);
      await Promise.all([redis.quit(), sub.quit()]);
    }
  });
});
