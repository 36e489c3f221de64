export { createRedis, redactUrl, waitForRedis, type CreateRedisOptions, type RedisRole } from './connection';
export { HealthStateView } from './health-state.store';
export { healthCommandSchema, publishHealthReset, type HealthCommand } from './health-commands';
export { redisKeys, type RedisKeys } from './keys';
export { OutcomePublisher } from './outcome.publisher';
