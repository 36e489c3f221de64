import { z } from './zod';
import { providerIdSchema } from './api';

export const availabilityStateSchema = z.enum(['available', 'unavailable', 'probing']).openapi('AvailabilityState');
export type AvailabilityState = z.infer<typeof availabilityStateSchema>;

/** What a send attempt came to, as the health monitor counts it. `throttled` is not a failure. */
export const outcomeKindSchema = z.enum(['success', 'throttled', 'server_error', 'timeout', 'connection_error', 'rejected']);
export type OutcomeKind = z.infer<typeof outcomeKindSchema>;

/** Outcome of one provider request, written by dispatchers and gateways to the outcome stream. */
export const outcomeEventSchema = z.object({
  provider: providerIdSchema,
  kind: outcomeKindSchema,
  latency_ms: z.number().int().min(0),
  /** Epoch ms when the answer (or the error) arrived. */
  at: z.number().int(),
  message_id: z.string().optional(),
  /**
   * Short reason of a non-success for operators (e.g. `HTTP 503`, `ETIMEDOUT`, the provider's error
   * text), shown by the dashboard. Never a phone number or a key. No length limit here, so a long
   * text cannot make the monitor drop the outcome; readers truncate.
   */
  error: z.string().optional(),
});
export type OutcomeEvent = z.infer<typeof outcomeEventSchema>;

/** The stored state of one provider (hash field in Redis) and the body of each broadcast. */
export const providerHealthStateSchema = z
  .object({
    provider: providerIdSchema,
    state: availabilityStateSchema,
    /** Epoch ms of the last transition. */
    since: z.number().int(),
    reason: z.string(),
    /** Epoch ms when the monitor last wrote this state; readers treat stale states as available. */
    updated_at: z.number().int(),
    /** Current cooldown before probing, in ms. */
    cooldown_ms: z.number().int(),
    /** Trial sends still allowed while probing. */
    probes_remaining: z.number().int().min(0),
  })
  .openapi('ProviderHealthState');
export type ProviderHealthState = z.infer<typeof providerHealthStateSchema>;

/** Published on the availability channel for every transition. */
export const availabilityEventSchema = z.object({
  provider: providerIdSchema,
  previous: availabilityStateSchema,
  state: providerHealthStateSchema,
});
export type AvailabilityEvent = z.infer<typeof availabilityEventSchema>;
