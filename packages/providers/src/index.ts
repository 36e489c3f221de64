export { ProviderClient, type ProviderClientOptions, type SendOptions } from './provider.client';
export {
  DEFAULT_THROTTLE_BACKOFF_MS,
  MAX_THROTTLE_BACKOFF_MS,
  publishOutcome,
  sendThroughLimiter,
  type LimitedSend,
  type OutcomeSink,
  type ProviderSender,
  type SendThroughLimiterDeps,
  type SendThroughLimiterInput,
  type SlotLimiter,
} from './send-through-limiter';
export { MAX_BODY_CHARS, classifyStatus, deliveryUnknown, extractProviderRef, parseRetryAfter, truncateBody, type SendResult } from './send-result';
