import { logLevel, pickEnv, providerSettings, type ProviderSettings } from '@twillow/config';

/** Every variable the ingest gateway reads (all documented in packages/config/src/env-vars.ts). */
export const gatewayEnvSchema = pickEnv(
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
  'HEALTH_STATE_MAX_AGE_MS',
  'GATEWAY_PORT',
  'DEFAULT_REGION',
  'MAX_SEGMENTS',
  'BODY_LIMIT_BYTES',
  'INGEST_RATE_LIMIT',
  'INGEST_RATE_WINDOW_MS',
  'SWEEP_INTERVAL_MS',
  'SWEEP_AFTER_MS',
  'DIRECT_SEND_MAX_WAIT_MS',
  'API_KEYS',
  'ADMIN_API_KEY',
  'API_KEY_RATE_LIMIT',
  'CORS_ORIGINS',
);

export type GatewayEnv = ReturnType<typeof gatewayEnvSchema.parse>;

/** The gateway's settings, derived once from the environment. */
export interface GatewayConfig {
  env: GatewayEnv;
  logLevel: string;
  providers: ProviderSettings[];
  /** Accepted sends per `ingestWindowMs`, shared by every gateway replica. */
  ingestLimit: number;
  ingestWindowMs: number;
  /** Accepted sends per API key per `ingestWindowMs` (on top of the shared limit); undefined: none. */
  keyLimit?: number;
  /**
   * Age after which a `processing` row without a job is re-queued by the sweeper, in ms: longer
   * than a direct send can live (room wait + provider timeout) plus SWEEP_AFTER_MS of margin.
   */
  processingAfterMs: number;
}

export function gatewayConfig(env: GatewayEnv): GatewayConfig {
  return {
    env,
    logLevel: logLevel(env),
    providers: providerSettings(env),
    ingestLimit: env.INGEST_RATE_LIMIT ?? env.TOTAL_RATE_LIMIT,
    ingestWindowMs: env.INGEST_RATE_WINDOW_MS,
    keyLimit: env.API_KEY_RATE_LIMIT,
    processingAfterMs: env.DIRECT_SEND_MAX_WAIT_MS + env.PROVIDER_TIMEOUT_MS + env.SWEEP_AFTER_MS,
  };
}
