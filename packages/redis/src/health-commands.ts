import type Redis from 'ioredis';
import { providerIdSchema, z } from '@twillow/contracts';
import type { RedisKeys } from './keys';

/**
 * Commands to the health monitor, published on `keys.healthCommands`. Every monitor replica hears
 * them; only the leader acts (followers drop their window so they stay in step).
 */
export const healthCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reset'), provider: providerIdSchema }),
]);
export type HealthCommand = z.infer<typeof healthCommandSchema>;
type ProviderId = z.infer<typeof providerIdSchema>;

/**
 * Asks the health monitor to clear `provider`'s window and mark it available ("reset by operator").
 * Fire-and-forget over pub/sub: resolves with the number of monitor replicas that heard it, so a
 * caller can tell the operator when no monitor is running (0).
 */
export async function publishHealthReset(redis: Redis, keys: RedisKeys, provider: ProviderId): Promise<number> {
  const command: HealthCommand = { type: 'reset', provider };
  return redis.publish(keys.healthCommands, JSON.stringify(command));
}
