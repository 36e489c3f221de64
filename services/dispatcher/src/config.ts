import { logLevel, pickEnv, providerSettings, type ProviderSettings } from '@twillow/config';
import type { z } from '@twillow/contracts';

/** Every variable the dispatcher reads (defaults and meanings live in the config registry). */
export const dispatcherEnvSchema = pickEnv(
  'DEBUG',
  'LOG_LEVEL',
  'HOST',
  'REDIS_URL',
  'REDIS_PREFIX',
  'DATABASE_URL',
  'SHUTDOWN_TIMEOUT_MS',
  'PROVIDER1_URL',
  'PROVIDER2_URL',
  'PROVIDER3_URL',
  'PROVIDER_RATE_LIMIT',
  'PROVIDER1_RATE_LIMIT',
  'PROVIDER2_RATE_LIMIT',
  'PROVIDER3_RATE_LIMIT',
  'TOTAL_RATE_LIMIT',
  'PROVIDER_WEIGHTS',
  'PROVIDER_TIMEOUT_MS',
  'RATE_LIMIT_MARGIN_MS',
  'DISPATCHER_PORT',
  'DISPATCHER_CONCURRENCY',
  'DISPATCHER_LOCK_MS',
  'MAX_ATTEMPTS',
  'RETRY_BASE_DELAY_MS',
  'NO_PROVIDER_DELAY_MS',
  'HEALTH_STATE_MAX_AGE_MS',
  'API_KEYS',
  'ADMIN_API_KEY',
);

export type DispatcherEnv = z.output<typeof dispatcherEnvSchema>;

/** The dispatcher's settings, built once from the environment; durations in ms. */
export interface DispatcherConfig {
  logLevel: string;
  host: string;
  /** Port of /health; 0 picks a free one. */
  port: number;
  redisUrl: string;
  redisPrefix: string;
  databaseUrl: string;
  shutdownTimeoutMs: number;
  providers: ProviderSettings[];
  /** Most sends across all providers in any 1-second interval. */
  totalRatePerSecond: number;
  rateLimitMarginMs: number;
  providerTimeoutMs: number;
  /** Jobs processed at once by this process. */
  concurrency: number;
  /** BullMQ lock of an active job, ms; stalled jobs are checked every half of it. */
  lockMs: number;
  /** Transient failures (5xx, timeout, connection) allowed per message before it is failed. */
  maxAttempts: number;
  /** Base of the exponential retry backoff with full jitter, ms. */
  retryBaseDelayMs: number;
  /** How long a job is delayed when no provider is available, ms. */
  noProviderDelayMs: number;
  healthStateMaxAgeMs: number;
  /** Keys for /metrics: with any configured, it needs the admin key. */
  apiKeys: string[];
  adminKey?: string;
}

export function dispatcherConfig(env: DispatcherEnv): DispatcherConfig {
  return {
    logLevel: logLevel(env),
    host: env.HOST,
    port: env.DISPATCHER_PORT,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    databaseUrl: env.DATABASE_URL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    providers: providerSettings(env),
    totalRatePerSecond: env.TOTAL_RATE_LIMIT,
    rateLimitMarginMs: env.RATE_LIMIT_MARGIN_MS,
    providerTimeoutMs: env.PROVIDER_TIMEOUT_MS,
    concurrency: env.DISPATCHER_CONCURRENCY,
    lockMs: env.DISPATCHER_LOCK_MS,
    maxAttempts: env.MAX_ATTEMPTS,
    retryBaseDelayMs: env.RETRY_BASE_DELAY_MS,
    noProviderDelayMs: env.NO_PROVIDER_DELAY_MS,
    apiKeys: env.API_KEYS,
    adminKey: env.ADMIN_API_KEY,
    healthStateMaxAgeMs: env.HEALTH_STATE_MAX_AGE_MS,
  };
}
