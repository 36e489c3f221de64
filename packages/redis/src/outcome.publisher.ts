import type Redis from 'ioredis';
import type { OutcomeEvent } from '@twillow/contracts';
import type { RedisKeys } from './keys';

/**
 * Appends outcome events to a capped Redis stream. A stream, not pub/sub: a health monitor that
 * restarts or fails over reads what it missed, so its window stays right.
 */
export class OutcomePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    /** Approximate cap of the stream length. */
    private readonly maxLen = 100_000,
  ) {}

  async publish(event: OutcomeEvent): Promise<void> {
    await this.redis.xadd(this.keys.outcomeStream, 'MAXLEN', '~', this.maxLen, '*', 'e', JSON.stringify(event));
  }
}
