import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import got, { RequestError, TimeoutError, type Got } from 'got';
import type { ProviderSettings } from '@twillow/config';
import type { ProviderSendBody } from '@twillow/contracts';
import { classifyStatus, extractProviderRef, parseRetryAfter, truncateBody, type SendResult } from './send-result';

export interface ProviderClientOptions {
  /** Timeout of one whole request (connect to last byte), in ms (PROVIDER_TIMEOUT_MS). */
  timeoutMs: number;
  /**
   * Most open sockets per provider host. Size it to the number of sends one process runs at once
   * (DISPATCHER_CONCURRENCY) so no send queues behind the agent.
   */
  maxSockets: number;
}

export interface SendOptions {
  /** The request id that travels with the message; defaults to the message id. */
  requestId?: string;
}

/** Idle keep-alive sockets are closed after this long, in ms (below Node's and most servers' 5 s). */
const IDLE_SOCKET_TIMEOUT_MS = 4000;

/** Error codes that mean no answer came back from the provider's host. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * Sends one message to one provider over keep-alive connections and classifies the answer.
 * No retries here: the caller (dispatcher or direct send) decides, with the limiter, where and when.
 */
export class ProviderClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly got: Got;

  constructor(private readonly options: ProviderClientOptions) {
    // `timeout` closes idle keep-alive sockets before a server's usual 5 s keep-alive timeout does
    // (and lets Node honour a shorter `Keep-Alive: timeout=` hint). Otherwise a send can go out on a
    // socket the server is closing at that moment and fail with ECONNRESET, a false health failure.
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.got = got.extend({
      agent: { http: this.httpAgent, https: this.httpsAgent },
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      responseType: 'text',
    });
  }

  /** POSTs `body` as JSON to `provider.url`. Resolves for every answer and every network error. */
  async send(provider: Pick<ProviderSettings, 'id' | 'url'>, body: ProviderSendBody, opts: SendOptions = {}): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.max(0, Math.round(performance.now() - started));
    try {
      const res = await this.got.post(provider.url, {
        json: { phone: body.phone, text: body.text, message_id: body.message_id },
        headers: {
          'x-request-id': opts.requestId ?? body.message_id,
          'x-message-id': body.message_id,
        },
      });
      const latencyMs = elapsed();
      const kind = classifyStatus(res.statusCode);
      const text = typeof res.body === 'string' ? res.body : String(res.body ?? '');
      return {
        kind,
        statusCode: res.statusCode,
        body: truncateBody(text),
        providerRef: kind === 'success' ? extractProviderRef(text, body.message_id) : null,
        latencyMs,
        retryAfterMs: kind === 'throttled' ? parseRetryAfter(res.headers['retry-after']) : null,
        error: kind === 'success' ? null : `HTTP ${res.statusCode}`,
      };
    } catch (err) {
      return this.describeError(err, elapsed());
    }
  }

  /** Closes the pooled sockets. Idempotent. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private describeError(err: unknown, latencyMs: number): SendResult {
    const code = (err as NodeJS.ErrnoException)?.code;
    const isTimeout = err instanceof TimeoutError || (code !== undefined && TIMEOUT_CODES.has(code));
    const base = { statusCode: null, body: null, providerRef: null, latencyMs, retryAfterMs: null };
    if (isTimeout) return { ...base, kind: 'timeout', error: `timeout after ${this.options.timeoutMs} ms` };
    const detail = err instanceof RequestError ? (err.code ?? err.message) : ((err as Error)?.message ?? String(err));
    return { ...base, kind: 'connection_error', error: detail };
  }
}
