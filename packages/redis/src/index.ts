export { createRedis, redactUrl, waitForRedis, type RedisRole } from './connection';
export { HealthStateView } from './health-state.store';
export { redisKeys, type RedisKeys } from './keys';
export { OutcomePublisher } from './outcome.publisher';
