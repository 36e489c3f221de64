/**
 * Every Redis key, channel and stream name in one place. All carry the configured prefix.
 * Keys that one Lua script touches together share a {hash tag} so they can move to Redis Cluster.
 */
export interface RedisKeys {
  /** BullMQ `prefix` option: `{twillow}` keeps each queue's keys in one hash slot. */
  bullPrefix: string;
  /** Name of the SMS queue. */
  smsQueue: string;
  /** Sliding-window log of sends to one provider (sorted set). */
  providerWindow(provider: string): string;
  /** Sliding-window log of all sends (sorted set). */
  globalWindow: string;
  /** Smooth weighted round-robin current weights (hash provider -> number). */
  wrrState: string;
  /** Pacing: theoretical arrival time per provider and `_global` (hash -> Redis-time ms). */
  paceState: string;
  /** Set while a provider asked us to back off (429 + Retry-After); value = until epoch ms. */
  providerBackoff(provider: string): string;
  /** Probe tokens a probing provider still lets through (counter). */
  probeTokens(provider: string): string;
  /** Sends per provider since the last reset (hash provider -> count), for distribution stats. */
  distributionCounts: string;
  /** Epoch ms of the last distribution reset. */
  distributionResetAt: string;
  /** Short lease one dispatcher holds while sending a message. */
  sendLease(messageId: string): string;
  /**
   * Send intent of a message (in the limiter slot): `<provider> <JSON payload>`, written by the
   * limiter script atomically with the grant
   * and deleted once the outcome is recorded; found by a later run, it marks the last attempt as
   * ambiguous (resend to the same provider, which dedupes by message_id). Long TTL.
   */
  sendIntent(messageId: string): string;
  /** Stored provider health states (hash provider -> JSON ProviderHealthState). */
  healthState: string;
  /** Availability transitions are published here (JSON AvailabilityEvent). */
  availabilityChannel: string;
  /** Outcome events (Redis stream; field `e` holds JSON OutcomeEvent). */
  outcomeStream: string;
  /** Lease naming the health monitor replica that leads. */
  healthLeader: string;
  /** Commands to the health monitor, e.g. a reset (pub/sub, JSON). */
  healthCommands: string;
  /** Ingest rate-limit keys (rate-limit-redis prefix). */
  ingestLimitPrefix: string;
}

export function redisKeys(prefix: string): RedisKeys {
  const rl = `{${prefix}:rl}`;
  return {
    bullPrefix: `{${prefix}}`,
    smsQueue: 'sms',
    providerWindow: (p) => `${rl}:window:${p}`,
    globalWindow: `${rl}:window:global`,
    wrrState: `${rl}:wrr`,
    paceState: `${rl}:pace`,
    providerBackoff: (p) => `${rl}:backoff:${p}`,
    probeTokens: (p) => `${rl}:probe:${p}`,
    distributionCounts: `${rl}:dist:counts`,
    distributionResetAt: `${rl}:dist:reset_at`,
    sendLease: (id) => `${prefix}:lease:${id}`,
    sendIntent: (id) => `${rl}:inflight:${id}`,
    healthState: `${prefix}:health:state`,
    availabilityChannel: `${prefix}:health:availability`,
    outcomeStream: `${prefix}:health:outcomes`,
    healthLeader: `${prefix}:health:leader`,
    healthCommands: `${prefix}:health:commands`,
    ingestLimitPrefix: `${prefix}:ingest:`,
  };
}
