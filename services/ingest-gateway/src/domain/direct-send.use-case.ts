import { randomUUID } from 'node:crypto';
import type { ProviderSettings } from '@twillow/config';
import type { directSendResponseSchema, z } from '@twillow/contracts';
import type { MessageStatus, NewSmsRequest, NewSmsResponse } from '@twillow/db';
import { AppError, ErrorCodes, UnavailableError } from '@twillow/errors';
import type { Logger } from '@twillow/logger';
import { sendThroughLimiter, type LimitedSend, type SendThroughLimiterDeps } from '@twillow/providers';
import type { ProviderMode } from '@twillow/rate-limit';
import type { SmsMessage } from './sms-message';

export type DirectSendResponse = z.infer<typeof directSendResponseSchema>;

export interface DirectSendPorts {
  writer: { add(request: NewSmsRequest): Promise<void> };
  repository: {
    setStatus(id: string, status: MessageStatus, lastError?: string | null): Promise<boolean>;
    recordAttempt(response: NewSmsResponse, update: { status: MessageStatus; provider?: string | null; lastError?: string | null }): Promise<void>;
  };
  /** Limiter, provider client, providers, outcome stream and logger for sendThroughLimiter. */
  send: SendThroughLimiterDeps;
  /** The health view's mode per provider (unavailable -> excluded). */
  modes(): Record<string, ProviderMode>;
  logger: Logger;
  /** How long to wait for room at the provider, in ms (DIRECT_SEND_MAX_WAIT_MS). */
  maxWaitMs: number;
  newId?: () => string;
}

/**
 * POST /api/sms/providerN: sends now through one provider, bypassing the queue but not the shared
 * limiter (`only`). The row is stored first and marked processing (so the enqueue sweeper never
 * picks it up), a slot is reserved right before the request leaves, and the answer is recorded.
 * The outcome goes to the health monitor like any dispatcher send.
 */
export class DirectSendUseCase {
  private readonly newId: () => string;

  constructor(private readonly ports: DirectSendPorts) {
    this.newId = ports.newId ?? randomUUID;
  }

  async execute(provider: ProviderSettings, message: SmsMessage, requestId?: string): Promise<DirectSendResponse> {
    const { writer, repository, logger } = this.ports;
    const id = this.newId();
    await writer.add({
      id,
      phone: message.phone,
      phoneNormalized: message.phoneNormalized,
      text: message.text,
      encoding: message.encoding,
      segments: message.segments,
      requestId: requestId ?? null,
    });
    await repository.setStatus(id, 'processing');

    let sent: LimitedSend;
    try {
      sent = await sendThroughLimiter(this.ports.send, {
        body: { phone: message.phoneNormalized, text: message.text, message_id: id },
        requestId,
        acquire: { only: provider.id, maxWaitMs: this.ports.maxWaitMs, modes: this.ports.modes() },
      });
    } catch (err) {
      await repository.setStatus(id, 'failed', 'rate limiter unreachable');
      throw new AppError(ErrorCodes.redisUnavailable, 'The shared rate limiter (Redis) is unreachable; nothing was sent.', 503, {
        details: { message_id: id },
        headers: { 'Retry-After': '1' },
        cause: err,
      });
    }
    if (sent.kind === 'none-available' || sent.kind === 'cancelled') {
      await repository.setStatus(id, 'failed', `${provider.id} unavailable`);
      throw new UnavailableError(ErrorCodes.noProviderAvailable, `${provider.id} is unavailable right now; nothing was sent.`, { message_id: id, provider: provider.id }, 5);
    }
    if (sent.kind === 'no-room') {
      await repository.setStatus(id, 'failed', `${provider.id} rate limit`);
      throw rateLimited(provider.id, id, sent.retryAfterMs, `No room at ${provider.id} within ${this.ports.maxWaitMs} ms (limit ${provider.ratePerSecond}/s); nothing was sent.`);
    }

    const { result } = sent;
    const ok = result.kind === 'success';
    await repository.recordAttempt(
      { requestId: id, provider: provider.id, attempt: 1, statusCode: result.statusCode, body: result.body, latencyMs: result.latencyMs, outcome: result.kind, error: result.error },
      { status: ok ? 'sent' : 'failed', provider: provider.id, lastError: result.error },
    );
    logger.info('direct send', { message_id: id, provider: provider.id, outcome: result.kind, status_code: result.statusCode, latency_ms: result.latencyMs });

    const answer = { status_code: result.statusCode, body: result.body, latency_ms: result.latencyMs, provider_ref: result.providerRef };
    if (ok) {
      return {
        success: true,
        message_id: id,
        message: `SMS sent via ${provider.id}`,
        provider: provider.id,
        queued: false,
        status: 'sent',
        phone_normalized: message.phoneNormalized,
        encoding: message.encoding,
        segments: message.segments,
        provider_response: answer,
      };
    }
    const details = { message_id: id, provider: provider.id, outcome: result.kind, provider_response: answer };
    if (result.kind === 'throttled') {
      throw rateLimited(provider.id, id, result.retryAfterMs ?? 1000, `${provider.id} answered 429 (throttling); the message was not sent.`, details);
    }
    if (result.kind === 'rejected') {
      throw new AppError(ErrorCodes.providerRejected, `${provider.id} rejected the message (HTTP ${result.statusCode}).`, 502, { details });
    }
    throw new AppError(ErrorCodes.providerFailed, `${provider.id} failed: ${result.error ?? result.kind}.`, 502, { details });
  }
}

function rateLimited(provider: string, messageId: string, retryAfterMs: number, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError(ErrorCodes.providerRateLimited, message, 429, {
    details: { ...extra, message_id: messageId, provider, retry_after_ms: retryAfterMs },
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  });
}
