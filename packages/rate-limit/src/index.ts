export { SharedRateLimiter, type SharedRateLimiterOptions } from './shared-rate-limiter';
export type * from './types';
