import Redis from 'ioredis';
import { createLogger } from '@twillow/logger';
import { redisKeys, type RedisKeys } from '@twillow/redis';
import { testRedisUrl, uniquePrefix } from '@twillow/testing';
import { SharedRateLimiter, type AcquireRequest, type AcquireResult, type ProviderLimit } from '../src';

const logger = createLogger({ service: 'rate-limit-test', version: 'test', level: 'error' });

function providers(limits: number[], weights = limits.map(() => 1)): ProviderLimit[] {
  return limits.map((ratePerSecond, i) => ({ id: `provider${i + 1}`, ratePerSecond, weight: weights[i] }));
}

/** Most events in any window of `windowMs`, for timestamps sorted ascending. */
function maxInAnyWindow(times: number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Counts the limiter's script calls on this client (INFO commandstats would count other tests too). */
function countScriptCalls(redis: Redis): { calls: number } {
  const counter = { calls: 0 };
  const target = redis as unknown as { twillowAcquire: (...args: unknown[]) => Promise<unknown> };
  const original = target.twillowAcquire.bind(redis);
  target.twillowAcquire = (...args: unknown[]) => {
    counter.calls++;
    return original(...args);
  };
  return counter;
}

/** A send whose provider answers at once: acquire, then mark the answer, as sendThroughLimiter does. */
async function sendNow(l: SharedRateLimiter, req: AcquireRequest = {}): Promise<AcquireResult> {
  const r = await l.acquire(req);
  if (r.kind === 'granted') await l.markAnswered(r.provider, r.member);
  return r;
}

describe('SharedRateLimiter', () => {
  let keys: RedisKeys;
  const clients: Redis[] = [];
  const limiters: SharedRateLimiter[] = [];

  function limiter(limits: number[], total: number, extra: { weights?: number[]; marginMs?: number; inFlightMs?: number } = {}): SharedRateLimiter {
    const redis = new Redis(testRedisUrl());
    clients.push(redis);
    const l = new SharedRateLimiter(
      { redis, keys, logger },
      { providers: providers(limits, extra.weights), totalPerSecond: total, marginMs: extra.marginMs ?? 5, inFlightMs: extra.inFlightMs },
    );
    limiters.push(l);
    return l;
  }

  beforeEach(() => {
    keys = redisKeys(uniquePrefix('rl'));
  });

  afterEach(async () => {
    for (const l of limiters.splice(0)) l.close();
    const cleanup = clients[0];
    if (cleanup) {
      const found = await cleanup.keys(`*${keys.globalWindow.split('}')[0]}*`);
      if (found.length) await cleanup.del(...found);
    }
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  it('never lets a provider see more than its limit in any 1-second interval across three replicas, however late the sends are', async () => {
    // Each "provider" stamps a send when this process reads the grant, after a random stall of up to
    // 80 ms (a loaded host), and the answer is marked after the stamp. The limit holds without any
    // margin for the stall: a slot opens one window after the answer, which follows the stamp.
    const replicas = [limiter([20, 20, 20], 1000), limiter([20, 20, 20], 1000), limiter([20, 20, 20], 1000)];
    const grants: Record<string, number[]> = { provider1: [], provider2: [], provider3: [] };
    await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const l = replicas[i % 3];
        const r = await l.acquire();
        if (r.kind !== 'granted') throw new Error(`unexpected ${r.kind}`);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 80));
        grants[r.provider].push(performance.now());
        await l.markAnswered(r.provider, r.member);
      }),
    );
    for (const times of Object.values(grants)) {
      expect(times.length).toBe(50);
      expect(maxInAnyWindow(times)).toBeLessThanOrEqual(20);
    }
  });

  it('holds the global limit below the sum of the provider limits', async () => {
    const replicas = [limiter([50, 50, 50], 30), limiter([50, 50, 50], 30)];
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 75 }, async (_, i) => {
        const r = await replicas[i % 2].acquire();
        expect(r.kind).toBe('granted');
        times.push(performance.now());
        if (r.kind === 'granted') await replicas[i % 2].markAnswered(r.provider, r.member);
      }),
    );
    expect(maxInAnyWindow(times)).toBeLessThanOrEqual(30);
  });

  it('shares sends by weight 2/1/1 exactly when every provider has room', async () => {
    const l = limiter([1e6, 1e6, 1e6], 3e6, { weights: [2, 1, 1] });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const r = await l.acquire();
      if (r.kind === 'granted') counts[r.provider] = (counts[r.provider] ?? 0) + 1;
    }
    expect(counts).toEqual({ provider1: 200, provider2: 100, provider3: 100 });
    const dist = await l.distribution();
    expect(dist.counts).toEqual(counts);
    expect(dist.shares.provider1).toBeCloseTo(0.5);
  });

  it('skips excluded providers and answers none-available when every provider is excluded', async () => {
    const l = limiter([100, 100, 100], 300);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await l.acquire({ modes: { provider2: 'excluded' } });
      if (r.kind === 'granted') seen.add(r.provider);
    }
    expect([...seen].sort()).toEqual(['provider1', 'provider3']);
    const none = await l.acquire({ modes: { provider1: 'excluded', provider2: 'excluded', provider3: 'excluded' } });
    expect(none).toEqual({ kind: 'none-available' });
  });

  it('lets a probing provider through only while its probe tokens last', async () => {
    const l = limiter([100, 100, 100], 300);
    const redis = clients[0];
    await redis.set(keys.probeTokens('provider1'), '2');
    const only = async () => l.acquire({ only: 'provider1', modes: { provider1: 'probing' } });
    expect((await only()).kind).toBe('granted');
    expect((await only()).kind).toBe('granted');
    expect(await only()).toEqual({ kind: 'none-available' });
    expect(await redis.get(keys.probeTokens('provider1'))).toBe('0');
  });

  it('makes a caller wait until room opens, without polling Redis for every waiter', async () => {
    const l = limiter([5], 100);
    const counter = countScriptCalls(clients[0]);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 15 }, () => sendNow(l)));
    const elapsed = performance.now() - started;
    expect(results.every((r) => r.kind === 'granted')).toBe(true);
    // 15 sends at 5 per window need two full windows of waiting.
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    // Paced grants come one per call; polling would cost a call per waiter per wake-up (hundreds).
    expect(counter.calls).toBeGreaterThanOrEqual(15);
    expect(counter.calls).toBeLessThanOrEqual(30);
  });

  it('answers no-room with the time room opens when maxWaitMs is shorter than the wait', async () => {
    const l = limiter([2], 100);
    await sendNow(l);
    await sendNow(l);
    const r = await l.acquire({ maxWaitMs: 50 });
    expect(r.kind).toBe('no-room');
    if (r.kind === 'no-room') {
      expect(r.retryAfterMs).toBeGreaterThan(50);
      expect(r.retryAfterMs).toBeLessThanOrEqual(1020);
    }
  });

  it('keeps a provider that asked for back-off out of rotation until it ends', async () => {
    const l = limiter([100, 100], 200);
    await l.backoff('provider1', 300);
    const first = await Promise.all(Array.from({ length: 6 }, () => l.acquire()));
    expect(first.map((r) => (r.kind === 'granted' ? r.provider : r.kind))).toEqual(Array(6).fill('provider2'));
    const snap = await l.snapshot();
    expect(snap.providers.provider1.backoffMs).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 350));
    const after = await l.acquire({ only: 'provider1' });
    expect(after.kind).toBe('granted');
  });

  it('reads counts and flags without consuming room', async () => {
    const l = limiter([3, 3], 10);
    await l.acquire({ only: 'provider1' });
    await l.acquire({ only: 'provider1' });
    await l.acquire({ only: 'provider1' });
    const a = await l.snapshot();
    const b = await l.snapshot();
    expect(a.providers.provider1).toMatchObject({ count: 3, limit: 3, limited: true });
    expect(b.providers.provider1.count).toBe(3);
    expect(a.global).toMatchObject({ count: 3, limit: 10, limited: false });
    expect(a.providers.provider2).toMatchObject({ count: 0, limited: false });
  });

  it('writes each waiter\'s intent with the granted provider in the same script call', async () => {
    const l = limiter([100, 100], 200, { weights: [1, 1] });
    const redis = clients[0];
    const intentKey = (id: string) => keys.sendIntent(id);
    const results = await Promise.all(
      ['m1', 'm2'].map((id) => l.acquire({ intent: { key: intentKey(id), payload: `{"attempt":1,"id":"${id}"}`, ttlMs: 60000 } })),
    );
    for (const [i, id] of ['m1', 'm2'].entries()) {
      const r = results[i];
      if (r.kind !== 'granted') throw new Error('expected a grant');
      expect(await redis.get(intentKey(id))).toBe(`${r.provider} {"attempt":1,"id":"${id}"}`);
      expect(await redis.pttl(intentKey(id))).toBeGreaterThan(59000);
    }
    await redis.del(intentKey('m1'), intentKey('m2'));
  });

  it('gives a released reservation back to the window', async () => {
    const l = limiter([2], 10);
    const a = await l.acquire();
    await l.acquire();
    expect((await l.snapshot()).providers.provider1.count).toBe(2);
    if (a.kind !== 'granted') throw new Error('expected a grant');
    expect(await l.release(a.provider, a.member)).toBe(true);
    expect(await l.release(a.provider, a.member)).toBe(false);
    const snap = await l.snapshot();
    expect(snap.providers.provider1.count).toBe(1);
    expect(snap.global.count).toBe(1);
    // The freed place is usable as soon as the pace allows (about 0.5 s), long before the window
    // would have opened (1 s after the first grant).
    const started = performance.now();
    expect((await l.acquire({ maxWaitMs: 900 })).kind).toBe('granted');
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('counts a send in flight until its answer is marked, then for one window from the answer, not from the grant', async () => {
    const l = limiter([1], 10, { marginMs: 0 });
    const a = await l.acquire();
    if (a.kind !== 'granted') throw new Error('expected a grant');
    const next = l.acquire({ maxWaitMs: 5000 }); // waits while `a` is in flight, however long
    await new Promise((r) => setTimeout(r, 300)); // the provider took 300 ms to answer
    const answeredAt = performance.now();
    expect(await l.markAnswered(a.provider, a.member)).toBe(true);
    // Counted from the grant, room would open ~700 ms from now; it opens one window after the answer.
    expect((await next).kind).toBe('granted');
    expect(performance.now() - answeredAt).toBeGreaterThanOrEqual(990);
    expect(performance.now() - answeredAt).toBeLessThan(1500);
    expect(await l.markAnswered('provider1', 'not-a-member')).toBe(false);
  });

  it('keeps a send whose answer is never marked (its sender died) for inFlightMs plus one window', async () => {
    const l = limiter([1], 10, { marginMs: 0, inFlightMs: 400 });
    const grantedAt = performance.now();
    expect((await l.acquire()).kind).toBe('granted');
    expect((await l.acquire({ maxWaitMs: 5000 })).kind).toBe('granted');
    expect(performance.now() - grantedAt).toBeGreaterThanOrEqual(1390);
  });

  it('spaces grants to one provider W/limit apart instead of handing out the window at once', async () => {
    const l = limiter([10], 100, { marginMs: 25 });
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const r = await l.acquire();
        if (r.kind === 'granted') times.push(r.grantedAt);
      }),
    );
    times.sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps).toHaveLength(5);
    // Limit 10: one every 1025 ms / 10 = 102.5 ms on the schedule the first grant set (2 ms slack).
    for (let k = 1; k < times.length; k++) expect(times[k] - times[0]).toBeGreaterThanOrEqual(k * 102.5 - 2 * k - 5);
  });

  it('rejects pending waits on close', async () => {
    const l = limiter([1], 10);
    await l.acquire();
    const pending = l.acquire();
    l.close();
    await expect(pending).rejects.toThrow('rate limiter closed');
  });
});

describe('SharedRateLimiter aborts', () => {
  it('rejects every wait sharing an aborted signal, with one listener on the signal however many wait', async () => {
    const keys = redisKeys(uniquePrefix('rla'));
    const redis = new Redis(testRedisUrl());
    const l = new SharedRateLimiter({ redis, keys, logger }, { providers: providers([1]), totalPerSecond: 10, marginMs: 0 });
    const controller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await l.acquire();
      const waits = Array.from({ length: 30 }, () => l.acquire({ signal: controller.signal }));
      controller.abort(new Error('shutting down'));
      const results = await Promise.allSettled(waits);
      expect(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'shutting down')).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      l.close();
      await redis.del(keys.globalWindow, keys.providerWindow('provider1'), keys.wrrState, keys.distributionCounts);
      await redis.quit();
    }
  });
});
