import { PROVIDER_IDS, pickEnv, type ProviderId } from '@twillow/config';
import type { z } from '@twillow/contracts';

/** Every variable the health monitor reads (defaults and meanings live in the config registry). */
export const healthMonitorEnvSchema = pickEnv(
  'DEBUG',
  'LOG_LEVEL',
  'HOST',
  'REDIS_URL',
  'REDIS_PREFIX',
  'SHUTDOWN_TIMEOUT_MS',
  'PROVIDER_TIMEOUT_MS',
  'HEALTH_MONITOR_PORT',
  'HEALTH_WINDOW_MS',
  'HEALTH_MIN_SAMPLES',
  'HEALTH_FAILURE_THRESHOLD',
  'HEALTH_COOLDOWN_MS',
  'HEALTH_MAX_COOLDOWN_MS',
  'HEALTH_PROBE_COUNT',
  'HEALTH_EVAL_INTERVAL_MS',
  'HEALTH_STATE_MAX_AGE_MS',
  'HEALTH_LEASE_MS',
  // The dashboard: admin key, and the limits it draws the rate bars against (read-only snapshot).
  'API_KEYS',
  'ADMIN_API_KEY',
  'PROVIDER1_URL',
  'PROVIDER2_URL',
  'PROVIDER3_URL',
  'PROVIDER_RATE_LIMIT',
  'PROVIDER1_RATE_LIMIT',
  'PROVIDER2_RATE_LIMIT',
  'PROVIDER3_RATE_LIMIT',
  'PROVIDER_WEIGHTS',
  'TOTAL_RATE_LIMIT',
  'RATE_LIMIT_MARGIN_MS',
);

export type HealthMonitorEnv = z.output<typeof healthMonitorEnvSchema>;

/** The monitor's settings, in ms unless named otherwise; built once from the environment. */
export interface HealthMonitorSettings {
  providers: readonly ProviderId[];
  /** Length of the sliding outcome window, ms. */
  windowMs: number;
  /** Successes + failures needed in the window before a provider can be marked unavailable. */
  minSamples: number;
  /** failures / (successes + failures) at or above which a provider becomes unavailable (0..1). */
  failureThreshold: number;
  /** First cooldown of an unavailable provider before probing, ms. */
  cooldownMs: number;
  /** Cap of the cooldown, which doubles after each failed probe, ms. */
  maxCooldownMs: number;
  /** Probe tokens written when probing starts (trial sends the limiter lets through). */
  probeCount: number;
  /**
   * How long a probing provider whose tokens are all spent may go without a verdict before it
   * returns to unavailable, ms. A probe that times out reports only after PROVIDER_TIMEOUT_MS, so
   * this is PROVIDER_TIMEOUT_MS plus a margin.
   */
  probeVerdictTimeoutMs: number;
  /** Period of the evaluation loop (cooldowns, probe timeouts), ms. Outcomes are evaluated on arrival too. */
  evalIntervalMs: number;
  /** Readers treat states older than this as available, ms. */
  stateMaxAgeMs: number;
  /** Period at which the leader rewrites `updated_at` of every state (and re-announces non-available ones), ms. */
  refreshIntervalMs: number;
  /** Leader lease length, ms; renewed every leaseMs/3. */
  leaseMs: number;
  /** Most stream entries read per XREAD/XRANGE call. */
  readBatch: number;
  /** Longest XREAD BLOCK, ms (bounds how long a stop waits if the connection cannot be cut). */
  readBlockMs: number;
}

export function monitorSettings(env: HealthMonitorEnv): HealthMonitorSettings {
  return {
    providers: PROVIDER_IDS,
    windowMs: env.HEALTH_WINDOW_MS,
    minSamples: env.HEALTH_MIN_SAMPLES,
    failureThreshold: env.HEALTH_FAILURE_THRESHOLD,
    cooldownMs: env.HEALTH_COOLDOWN_MS,
    maxCooldownMs: Math.max(env.HEALTH_MAX_COOLDOWN_MS, env.HEALTH_COOLDOWN_MS),
    probeCount: env.HEALTH_PROBE_COUNT,
    probeVerdictTimeoutMs: env.PROVIDER_TIMEOUT_MS + Math.max(1000, 2 * env.HEALTH_EVAL_INTERVAL_MS),
    evalIntervalMs: env.HEALTH_EVAL_INTERVAL_MS,
    stateMaxAgeMs: env.HEALTH_STATE_MAX_AGE_MS,
    refreshIntervalMs: Math.max(50, Math.min(env.HEALTH_EVAL_INTERVAL_MS * 4, Math.floor(env.HEALTH_STATE_MAX_AGE_MS / 3))),
    leaseMs: env.HEALTH_LEASE_MS,
    readBatch: 1000,
    readBlockMs: 1000,
  };
}
