import { MemoryStore, type ClientRateLimitInfo, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import type Redis from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Logger } from '@twillow/logger';

/** How long the store stays in memory before it tries Redis again, in ms. */
const REDIS_RETRY_MS = 1000;

/**
 * The ingest limiter's hit counter: rate-limit-redis (one counter shared by every gateway replica)
 * with an in-memory fallback. When Redis fails, counting moves to this replica's memory at once,
 * so limiting never stops (each replica then enforces the limit on its own, which is looser by the
 * number of replicas) and the switch is logged once, at error level. Redis is retried every second;
 * the first success switches back and logs the recovery.
 */
export class FailoverIngestStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private redisStore: RedisStore;
  private readonly memory = new MemoryStore();
  private options?: Options;
  private usingMemory = false;
  private retryAt = 0;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.prefix = prefix;
    this.redisStore = this.newRedisStore();
  }

  /** True while counting in memory because Redis failed. */
  get fallbackActive(): boolean {
    return this.usingMemory;
  }

  init(options: Options): void {
    this.options = options;
    this.memory.init(options);
    // If Redis is away now, the first increment falls back to memory; recovery builds a fresh store.
    this.redisStore.init(options).catch(() => undefined);
  }

  async increment(key: string): Promise<IncrementResponse> {
    if (this.usingMemory) return this.incrementWhileFallenBack(key);
    try {
      return await this.redisStore.increment(key);
    } catch (err) {
      this.fallBack(err);
      return this.memory.increment(key);
    }
  }

  async decrement(key: string): Promise<void> {
    if (this.usingMemory) return this.memory.decrement(key);
    try {
      await this.redisStore.decrement(key);
    } catch (err) {
      this.fallBack(err);
    }
  }

  async resetKey(key: string): Promise<void> {
    this.memory.resetKey(key);
    if (!this.usingMemory) await this.redisStore.resetKey(key);
  }

  /** Hit count and reset time of `key`, read without counting (for /api/sms/rate-limits). */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    if (this.usingMemory) return this.memory.get(key);
    return this.redisStore.get(key);
  }

  shutdown(): void {
    this.memory.shutdown();
  }

  private fallBack(err: unknown): void {
    this.retryAt = this.now() + REDIS_RETRY_MS;
    if (this.usingMemory) return;
    this.usingMemory = true;
    this.logger.error(
      "INGEST RATE LIMIT FALLBACK: Redis is unreachable, so the ingest limit is now counted in this replica's memory " +
        '(each replica allows the full limit until Redis is back). Sends answer 503 meanwhile because the queue is unreachable too.',
      { error: (err as Error)?.message },
    );
  }

  /** Counts in memory; once a second tries a fresh Redis store (rate-limit-redis keeps a failed script load forever). */
  private async incrementWhileFallenBack(key: string): Promise<IncrementResponse> {
    if (this.now() < this.retryAt || !this.options) return this.memory.increment(key);
    this.retryAt = this.now() + REDIS_RETRY_MS;
    try {
      const fresh = this.newRedisStore();
      await fresh.init(this.options);
      const result = await fresh.increment(key);
      this.redisStore = fresh;
      this.usingMemory = false;
      this.logger.warn('ingest rate limit: Redis answers again; counting in Redis (shared by all replicas) again');
      return result;
    } catch {
      return this.memory.increment(key);
    }
  }

  private newRedisStore(): RedisStore {
    return new RedisStore({
      prefix: this.prefix,
      sendCommand: (command: string, ...args: string[]) => this.redis.call(command, ...args) as Promise<RedisReply>,
    });
  }
}
