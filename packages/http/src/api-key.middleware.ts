import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AppError, ErrorCodes } from '@twillow/errors';

export interface ApiKeyAuthOptions {
  /** Keys that may call the API. Empty means the API runs open (local first try only). */
  apiKeys: string[];
  /** Key for admin endpoints; it is also accepted wherever an API key is. */
  adminKey?: string;
}

export interface ApiKeyAuth {
  /** True when no API key is configured: every request is let through. */
  open: boolean;
  /** Requires an API key (or the admin key); sets res.locals.apiKeyId. */
  requireKey: RequestHandler;
  /** Requires the admin key. */
  requireAdmin: RequestHandler;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** A short, non-reversible id of a key for logs and per-key limits. */
export function keyId(key: string): string {
  return digest(key).toString('hex').slice(0, 12);
}

/** `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim() || undefined;
  const header = req.get('x-api-key');
  return header?.trim() || undefined;
}

/**
 * API-key checks. Keys are compared as SHA-256 digests with timingSafeEqual, so neither the
 * comparison time nor the digest length says anything about a stored key.
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): ApiKeyAuth {
  const keys = options.apiKeys.map(digest);
  const admin = options.adminKey ? digest(options.adminKey) : undefined;
  const open = keys.length === 0;
  const matches = (candidate: Buffer, list: Buffer[]) => list.reduce((hit, k) => timingSafeEqual(candidate, k) || hit, false);

  const requireKey: RequestHandler = (req, res, next) => {
    const given = presentedKey(req);
    if (open && !given) return next();
    if (!given) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new AppError(ErrorCodes.unauthorized, 'An API key is required: send Authorization: Bearer <key> or X-API-Key.', 401);
    }
    const d = digest(given);
    if (matches(d, keys) || (admin && matches(d, [admin])) || open) {
      res.locals.apiKeyId = keyId(given);
      return next();
    }
    res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new AppError(ErrorCodes.unauthorized, 'The API key is not valid.', 401);
  };

  const requireAdmin: RequestHandler = (req, res, next) => {
    const given = presentedKey(req);
    if (open && !admin) return next();
    if (!given) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new AppError(ErrorCodes.unauthorized, 'This endpoint needs the admin key: send Authorization: Bearer <admin key>.', 401);
    }
    const d = digest(given);
    if (admin && matches(d, [admin])) {
      res.locals.apiKeyId = keyId(given);
      return next();
    }
    if (matches(d, keys)) throw new AppError(ErrorCodes.forbidden, 'This endpoint needs the admin key; an API key is not enough.', 403);
    res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new AppError(ErrorCodes.unauthorized, 'The API key is not valid.', 401);
  };

  return { open, requireKey, requireAdmin };
}
