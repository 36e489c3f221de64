import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '@twillow/logger';
import type { RedisKeys } from '@twillow/redis';
import { ACQUIRE_LUA, MARK_ANSWERED_LUA, RELEASE_LUA, SNAPSHOT_LUA } from './acquire.lua';
import type {
  AcquireRequest,
  AcquireResult,
  DistributionStats,
  ProviderLimit,
  ProviderMode,
  RateLimitSnapshot,
} from './types';

export interface SharedRateLimiterOptions {
  providers: ProviderLimit[];
  /** Most sends across all providers in any 1-second interval. */
  totalPerSecond: number;
  /**
   * Added to the 1-second window, in ms. A send leaves its window 1 s + marginMs after its answer
   * (see ACQUIRE_LUA); the margin only covers the provider's clock resolution and rate.
   */
  marginMs: number;
  /**
   * How long a granted send counts as in flight before its answer is marked, in ms: longer than any
   * send can take from grant to answer (the request timeout plus the largest stall allowed between
   * grant and request). A sender that dies mid-send holds its slot this long plus the window.
   * Default 10,000.
   */
  inFlightMs?: number;
  /** Most reservations one script call makes for waiting callers. */
  maxBatch?: number;
  /** The health view's current mode of each provider, consulted on every attempt. */
  currentModes?: () => Record<string, ProviderMode>;
}

interface Waiter {
  req: AcquireRequest;
  group: string;
  startedAt: number;
  resolve(result: AcquireResult): void;
  reject(err: unknown): void;
}

type Redis2 = Redis & {
  twillowAcquire(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
  twillowSnapshot(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  twillowRelease(numKeys: number, ...args: (string | number)[]): Promise<number>;
  twillowMarkAnswered(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

const DEFAULT_IN_FLIGHT_MS = 10_000;

const MODE_CODE: Record<ProviderMode, string> = { available: 'a', probing: 'p', excluded: 'x' };

/**
 * Per-provider and global sliding-window limits shared by every replica through one Lua script,
 * with smooth weighted round-robin distribution.
 *
 * Callers wait in a per-process FIFO: one script call serves a batch of waiters, and when no room is
 * left the pump sleeps until the moment Redis says room opens. So a replica makes at most one call
 * per opening instead of every waiting job polling Redis.
 */
export class SharedRateLimiter {
  private readonly redis: Redis2;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly inFlightMs: number;
  private readonly tag = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly waiters: Waiter[] = [];
  private pumping = false;
  private wake?: () => void;
  private closed = false;
  /** One abort listener per signal (a dispatcher shares one shutdown signal across all its jobs). */
  private readonly bySignal = new Map<AbortSignal, Set<Waiter>>();

  constructor(
    private readonly deps: { redis: Redis; keys: RedisKeys; logger: Logger },
    private readonly options: SharedRateLimiterOptions,
  ) {
    this.redis = deps.redis as Redis2;
    this.windowMs = 1000 + options.marginMs;
    this.maxBatch = options.maxBatch ?? 64;
    this.inFlightMs = options.inFlightMs ?? DEFAULT_IN_FLIGHT_MS;
    if ((this.redis as unknown as Record<string, unknown>).twillowAcquire === undefined) {
      this.redis.defineCommand('twillowAcquire', { lua: ACQUIRE_LUA });
      this.redis.defineCommand('twillowSnapshot', { lua: SNAPSHOT_LUA });
      this.redis.defineCommand('twillowRelease', { lua: RELEASE_LUA });
      this.redis.defineCommand('twillowMarkAnswered', { lua: MARK_ANSWERED_LUA });
    }
  }

  /** Waits for a send slot; see AcquireRequest for the options. */
  acquire(req: AcquireRequest = {}): Promise<AcquireResult> {
    if (this.closed) return Promise.reject(new Error('rate limiter closed'));
    if (req.only && !this.options.providers.some((p) => p.id === req.only)) {
      return Promise.resolve({ kind: 'none-available' });
    }
    return new Promise<AcquireResult>((resolve, reject) => {
      const waiter: Waiter = { req, group: groupKey(req), startedAt: Date.now(), resolve, reject };
      if (req.signal) {
        if (req.signal.aborted) return reject(req.signal.reason);
        this.watch(req.signal, waiter);
      }
      // A waiter of a group already queued is served by the pump's next call anyway; only a new
      // group (different constraints) may have room now, so only that wakes a sleeping pump.
      const newGroup = !this.waiters.some((w) => w.group === waiter.group);
      this.waiters.push(waiter);
      if (this.pumping) {
        if (newGroup) this.wake?.();
      }
      else void this.pump();
    });
  }

  /**
   * Gives back an unused reservation, e.g. when the sender stalled so long after the grant that
   * sending now could break the window at the provider. Returns true if it was still held.
   */
  async release(provider: string, member: string): Promise<boolean> {
    const { keys } = this.deps;
    const limit = this.options.providers.find((p) => p.id === provider)?.ratePerSecond ?? 1;
    const removed = await this.redis.twillowRelease(
      4,
      keys.providerWindow(provider),
      keys.globalWindow,
      keys.distributionCounts,
      keys.paceState,
      member,
      provider,
      this.windowMs / limit,
      this.windowMs / this.options.totalPerSecond,
    );
    return removed === 1;
  }

  /**
   * Tells the windows that a granted send's answer (or network error) is back, so the provider has
   * counted it: its slot opens one window from now instead of after inFlightMs (MARK_ANSWERED_LUA).
   * Returns true if the reservation was still held.
   */
  async markAnswered(provider: string, member: string): Promise<boolean> {
    const { keys } = this.deps;
    return (await this.redis.twillowMarkAnswered(2, keys.providerWindow(provider), keys.globalWindow, member)) === 1;
  }

  /** Keeps `provider` out of rotation for `ms` (it answered 429). */
  async backoff(provider: string, ms: number): Promise<void> {
    const key = this.deps.keys.providerBackoff(provider);
    const current = await this.redis.pttl(key);
    if (current < ms) await this.redis.set(key, '1', 'PX', Math.max(1, Math.ceil(ms)));
  }

  /** Current window counts, limits and flags, read without reserving anything. */
  async snapshot(): Promise<RateLimitSnapshot> {
    const { keys } = this.deps;
    const { providers } = this.options;
    const keyList = [keys.globalWindow, ...providers.flatMap((p) => [keys.providerWindow(p.id), keys.providerBackoff(p.id), keys.probeTokens(p.id)])];
    const raw = await this.redis.twillowSnapshot(keyList.length, ...keyList, this.windowMs, providers.length);
    const globalCount = Number(raw[0]);
    const out: RateLimitSnapshot = {
      windowMs: this.windowMs,
      global: { count: globalCount, limit: this.options.totalPerSecond, limited: globalCount >= this.options.totalPerSecond },
      providers: {},
    };
    providers.forEach((p, i) => {
      const count = Number(raw[1 + i * 3]);
      const probes = Number(raw[2 + i * 3 + 1]);
      out.providers[p.id] = {
        count,
        limit: p.ratePerSecond,
        limited: count >= p.ratePerSecond,
        backoffMs: Number(raw[2 + i * 3]),
        probeTokens: probes < 0 ? null : probes,
        weight: p.weight,
      };
    });
    return out;
  }

  async distribution(): Promise<DistributionStats> {
    const { keys } = this.deps;
    const [counts, since] = await Promise.all([this.redis.hgetall(keys.distributionCounts), this.redis.get(keys.distributionResetAt)]);
    const byProvider: Record<string, number> = {};
    const weights: Record<string, number> = {};
    for (const p of this.options.providers) {
      byProvider[p.id] = Number(counts[p.id] ?? 0);
      weights[p.id] = p.weight;
    }
    const total = Object.values(byProvider).reduce((a, b) => a + b, 0);
    const shares = Object.fromEntries(Object.entries(byProvider).map(([id, c]) => [id, total === 0 ? 0 : c / total]));
    return { counts: byProvider, total, shares, weights, since: since ? Number(since) : null };
  }

  async resetDistribution(): Promise<void> {
    const { keys } = this.deps;
    await this.redis.multi().del(keys.distributionCounts).del(keys.wrrState).set(keys.distributionResetAt, String(Date.now())).exec();
  }

  /** Rejects every pending wait; later acquires reject at once. Idempotent. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error('rate limiter closed'));
    this.wake?.();
  }

  private watch(signal: AbortSignal, waiter: Waiter): void {
    let set = this.bySignal.get(signal);
    if (!set) {
      const waiting = new Set<Waiter>();
      set = waiting;
      this.bySignal.set(signal, waiting);
      signal.addEventListener(
        'abort',
        () => {
          this.bySignal.delete(signal);
          for (const w of waiting) {
            this.remove(w);
            w.reject(signal.reason);
          }
        },
        { once: true },
      );
    }
    set.add(waiter);
  }

  private remove(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
    if (waiter.req.signal) this.bySignal.get(waiter.req.signal)?.delete(waiter);
  }

  private settle(waiter: Waiter, result: AcquireResult): void {
    this.remove(waiter);
    waiter.resolve(result);
  }

  /** Serves waiters group by group until none is left; sleeps while nothing can be granted. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        let sleepMs = Infinity;
        const groups = [...new Set(this.waiters.map((w) => w.group))];
        for (const group of groups) {
          const batch = this.waiters.filter((w) => w.group === group).slice(0, this.maxBatch);
          if (batch.length === 0) continue;
          let result: { waitMs: number; granted: { provider: string; member: string }[] };
          try {
            result = await this.reserve(batch, batch.length);
          } catch (err) {
            // Redis is away: fail these callers rather than spin; they retry through their own job logic.
            for (const w of batch) {
              this.remove(w);
              w.reject(err);
            }
            continue;
          }
          const grantedAt = performance.now();
          result.granted.forEach(({ provider, member }, i) =>
            this.settle(batch[i], { kind: 'granted', provider, member, grantedAt, waitedMs: Date.now() - batch[i].startedAt }),
          );
          const left = batch.slice(result.granted.length);
          if (left.length === 0) {
            sleepMs = 0;
            continue;
          }
          if (result.waitMs < 0) {
            for (const w of left) this.settle(w, { kind: 'none-available' });
            sleepMs = 0;
            continue;
          }
          for (const w of left) {
            const waited = Date.now() - w.startedAt;
            if (w.req.maxWaitMs !== undefined && waited + result.waitMs > w.req.maxWaitMs) {
              this.settle(w, { kind: 'no-room', retryAfterMs: Math.ceil(result.waitMs) });
            }
          }
          sleepMs = Math.min(sleepMs, result.waitMs);
        }
        if (sleepMs > 0 && sleepMs !== Infinity && this.waiters.length > 0) await this.sleep(sleepMs);
      }
    } finally {
      this.pumping = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, Math.ceil(ms)));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async reserve(batch: Waiter[], want: number): Promise<{ waitMs: number; granted: { provider: string; member: string }[] }> {
    const { keys } = this.deps;
    const req = batch[0].req;
    const intents = batch.map((w) => w.req.intent).filter((i): i is NonNullable<AcquireRequest['intent']> => i !== undefined);
    const providers = req.only ? this.options.providers.filter((p) => p.id === req.only) : this.options.providers;
    const health = this.options.currentModes?.() ?? {};
    const keyList = [keys.globalWindow, keys.wrrState, keys.distributionCounts, keys.paceState];
    const args: (string | number)[] = [
      this.windowMs,
      this.options.totalPerSecond,
      providers.length,
      want,
      `${this.tag}:${++this.seq}`,
      intents.length,
      intents[0]?.ttlMs ?? 0,
      this.inFlightMs,
    ];
    for (const p of providers) {
      keyList.push(keys.providerWindow(p.id), keys.providerBackoff(p.id), keys.probeTokens(p.id));
      args.push(p.id, p.ratePerSecond, p.weight, MODE_CODE[combine(req.modes?.[p.id], health[p.id])]);
    }
    for (const intent of intents) {
      keyList.push(intent.key);
      args.push(intent.payload);
    }
    const [wait, ...flat] = await this.redis.twillowAcquire(keyList.length, ...keyList, ...args);
    const granted: { provider: string; member: string }[] = [];
    for (let i = 0; i < flat.length; i += 2) granted.push({ provider: flat[i], member: flat[i + 1] });
    return { waitMs: Number(wait), granted };
  }
}

/** The stricter of the caller's mode and the health view's mode. */
function combine(a: ProviderMode | undefined, b: ProviderMode | undefined): ProviderMode {
  if (a === 'excluded' || b === 'excluded') return 'excluded';
  if (a === 'probing' || b === 'probing') return 'probing';
  return 'available';
}

/** Waiters with the same constraints can share one script call. */
function groupKey(req: AcquireRequest): string {
  const modes = req.modes
    ? Object.entries(req.modes)
        .filter(([, m]) => m !== 'available')
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([p, m]) => `${p}=${m}`)
        .join(',')
    : '';
  // Waiters with intents and without cannot share a call: the script pairs grants with intent keys.
  return `${req.only ?? '*'}|${modes}|${req.intent ? `i${req.intent.ttlMs}` : ''}`;
}
