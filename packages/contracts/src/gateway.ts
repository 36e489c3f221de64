import { z } from './zod';
import { availabilityStateSchema } from './health';
import { listRequestsQuerySchema, providerIdSchema, sendSmsResponseSchema } from './api';

/** Schemas of the ingest gateway's operator endpoints (rate limits, health, distribution, providers). */

export const serviceHealthResponseSchema = z
  .object({
    status: z.enum(['healthy', 'unhealthy']),
    /** Present when unhealthy: the dependencies that did not answer. */
    failing: z.array(z.enum(['redis', 'database'])).optional(),
    checks: z.record(z.string(), z.enum(['ok', 'unreachable'])).optional(),
  })
  .openapi('ServiceHealth', { example: { status: 'healthy' } });

export const windowCountsSchema = z
  .object({
    current_count: z.number().int().openapi({ description: 'Sends in the current window' }),
    limit: z.number().int(),
    remaining: z.number().int(),
    is_limited: z.boolean().openapi({ description: 'current_count >= limit' }),
  })
  .openapi('WindowCounts');

export const providerWindowCountsSchema = windowCountsSchema
  .extend({
    backoff_ms: z.number().int().openapi({ description: 'Time left of a 429 back-off, in ms (0 = none)' }),
    probe_tokens: z.number().int().nullable().openapi({ description: 'Trial sends left while probing; null when not probing' }),
    weight: z.number().int(),
  })
  .openapi('ProviderWindowCounts');

export const rateLimitsResponseSchema = z
  .object({
    window_ms: z.number().int().openapi({ description: 'Length of the sliding send window, in ms' }),
    global: windowCountsSchema,
    providers: z.record(providerIdSchema, providerWindowCountsSchema),
    ingest: windowCountsSchema
      .extend({ window_ms: z.number().int(), fallback: z.boolean().openapi({ description: 'true while the limit runs in memory (Redis unreachable)' }) })
      .openapi('IngestWindowCounts'),
    timestamp: z.string(),
  })
  .openapi('RateLimits');

export const providerHealthSchema = z
  .object({
    provider: providerIdSchema,
    /** The state routing acts on: stale or unknown states count as available. */
    state: availabilityStateSchema,
    is_healthy: z.boolean(),
    /** The state the health monitor stored, or null when it never wrote one. */
    stored_state: availabilityStateSchema.nullable(),
    stale: z.boolean().openapi({ description: 'The stored state is older than HEALTH_STATE_MAX_AGE_MS (or missing)' }),
    since: z.number().int().nullable(),
    updated_at: z.number().int().nullable(),
    reason: z.string(),
    cooldown_ms: z.number().int().nullable(),
    probes_remaining: z.number().int().nullable(),
  })
  .openapi('ProviderHealth');

export const healthListResponseSchema = z
  .object({
    providers: z.record(providerIdSchema, providerHealthSchema),
    available_count: z.number().int(),
    timestamp: z.string(),
  })
  .openapi('ProvidersHealth');

export const healthResetResponseSchema = z
  .object({
    success: z.literal(true),
    provider: providerIdSchema,
    message: z.string(),
    monitors_notified: z.number().int().openapi({ description: 'Health monitor replicas that heard the reset (0 = none running)' }),
  })
  .openapi('HealthResetResponse');

export const distributionStatsResponseSchema = z
  .object({
    strategy: z.literal('smooth-weighted-round-robin'),
    counts: z.record(z.string(), z.number().int()),
    total: z.number().int(),
    shares: z.record(z.string(), z.number()),
    weights: z.record(z.string(), z.number()),
    since: z.number().int().nullable().openapi({ description: 'Epoch ms of the last reset' }),
  })
  .openapi('DistributionStats');

export const resetResponseSchema = z.object({ success: z.literal(true), message: z.string() }).openapi('ResetResponse');

export const providerInfoSchema = z
  .object({
    id: providerIdSchema,
    url: z.string(),
    rate_limit: z.number().int().openapi({ description: 'Most requests in any 1-second interval' }),
    weight: z.number().int(),
    health: availabilityStateSchema,
    stale: z.boolean(),
    current_count: z.number().int(),
    is_limited: z.boolean(),
  })
  .openapi('ProviderInfo');

export const providersResponseSchema = z
  .object({ providers: z.array(providerInfoSchema), total_rate_limit: z.number().int() })
  .openapi('Providers');

export const directSendResponseSchema = sendSmsResponseSchema
  .extend({
    provider_response: z.object({
      status_code: z.number().int().nullable(),
      body: z.string().nullable(),
      latency_ms: z.number().int(),
      provider_ref: z.string().nullable(),
    }),
  })
  .openapi('DirectSendResponse');

export const providerIdParamSchema = z.object({ provider_id: providerIdSchema });


/** GET /api/sms/requests query: the gateway pages with `cursor` only (no offset paging). */
export const gatewayListRequestsQuerySchema = listRequestsQuerySchema.omit({ offset: true });

/** Headers a send accepts. */
export const sendHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Client key (1-255 printable ASCII). Same key + same body replays the first answer; same key + other body is 409.' }),
  'x-request-id': z.string().max(128).optional().openapi({ description: 'Reused as the request id when well-formed; echoed back.' }),
});
