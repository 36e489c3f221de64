import { createHash } from 'node:crypto';
import { ErrorCodes, ValidationError } from '@twillow/errors';

/** 1-255 printable ASCII characters (space to ~), as the IETF Idempotency-Key draft suggests. */
const VALID_KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * Reads the Idempotency-Key header; undefined when absent.
 * @throws ValidationError SMS.INVALID_IDEMPOTENCY_KEY (field `Idempotency-Key`) for an empty, too
 * long or non-printable key.
 */
export function readIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!VALID_KEY.test(header) || header.trim().length === 0) {
    throw new ValidationError(
      ErrorCodes.invalidIdempotencyKey,
      'Idempotency-Key must be 1-255 printable ASCII characters.',
      'Idempotency-Key',
    );
  }
  return header;
}

/**
 * The fingerprint stored with a keyed request and compared on reuse. It covers what the message
 * will be (normalized phone and exact text), so "01921317475" and "+8801921317475" with the same
 * text count as the same request.
 */
export function requestFingerprint(phoneNormalized: string, text: string): string {
  return createHash('sha256').update(JSON.stringify([phoneNormalized, text])).digest('hex');
}
