import type { OutcomeKind } from '@twillow/contracts';

/** Most characters of a provider's answer body kept on a SendResult (and so in the database). */
export const MAX_BODY_CHARS = 2000;

/** What one provider request came to. Provider answers never throw; they are described here. */
export interface SendResult {
  kind: OutcomeKind;
  /** HTTP status, or null when no answer arrived (timeout, connection error). */
  statusCode: number | null;
  /** Answer body truncated to MAX_BODY_CHARS, or null when no answer arrived. */
  body: string | null;
  /** The provider's own reference (`message_id` or `id` of a JSON 2xx body), if any. */
  providerRef: string | null;
  /** Time from sending the request to the answer or the error, in ms. */
  latencyMs: number;
  /** From a 429's Retry-After header, in ms; null when absent or not a 429. */
  retryAfterMs: number | null;
  /** Short description of a failure (network error code or HTTP status); null on success. */
  error: string | null;
}

/** Maps an HTTP status onto the provider contract of DESIGN.md. */
export function classifyStatus(statusCode: number): OutcomeKind {
  if (statusCode >= 200 && statusCode < 300) return 'success';
  if (statusCode === 429) return 'throttled';
  if (statusCode >= 500) return 'server_error';
  // 1xx/3xx never reach us as finals (got follows nothing: followRedirect is off); treat them and
  // every other 4xx as a permanent rejection of this message.
  return 'rejected';
}

/**
 * Connection errors raised before the request could leave this host: the provider cannot have
 * received it. Every other connection error (ECONNRESET, EPIPE, a socket hang up) may come after
 * the provider read the whole request.
 */
const NOT_SENT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * True when the provider may have accepted the message although we got no answer that says so:
 * a timeout, or a connection error other than one that stops the request before it leaves (e.g.
 * ECONNREFUSED). Such an attempt is ambiguous; the provider contract lets us hand the same
 * message_id to the SAME provider again (it dedupes), while another provider would deliver twice.
 */
export function deliveryUnknown(result: Pick<SendResult, 'kind' | 'error'>): boolean {
  if (result.kind === 'timeout') return true;
  if (result.kind !== 'connection_error') return false;
  return !NOT_SENT_ERRORS.has(result.error ?? '');
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/**
 * The provider's reference from a JSON body: `message_id` or `id`. Some providers echo our own
 * message id as `message_id`; a value equal to `ourMessageId` is used only when nothing else is given.
 */
export function extractProviderRef(body: string | null, ourMessageId?: string): string | null {
  if (!body) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const obj = parsed as Record<string, unknown>;
  const candidates = ['message_id', 'id']
    .map((key) => obj[key])
    .filter((v): v is string | number => (typeof v === 'string' && v.length > 0) || typeof v === 'number')
    .map(String);
  return candidates.find((c) => c !== ourMessageId) ?? candidates[0] ?? null;
}

export function truncateBody(body: string): string {
  return body.length > MAX_BODY_CHARS ? body.slice(0, MAX_BODY_CHARS) : body;
}
