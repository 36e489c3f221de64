import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ApiKeyAuth } from '@twillow/http';

export interface AdminSessionAuthOptions {
  /** ADMIN_API_KEY; undefined keeps the pages closed unless the whole API runs open. */
  adminKey?: string;
  /** The gateway's API-key checks (open when API_KEYS is empty; requireAdmin for header auth). */
  auth: ApiKeyAuth;
  /** Path the pages live under and the cookie is scoped to, e.g. /admin/queues. */
  basePath: string;
  cookieName: string;
  /** Lifetime of a session cookie, ms. */
  sessionMs?: number;
  now?: () => number;
}

const DEFAULT_SESSION_MS = 12 * 60 * 60 * 1000;
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Browser access to admin pages (Bull Board), the same scheme as the health monitor's dashboard:
 * a browser cannot put a header on a navigation, so the admin key is presented once as
 * `?key=<ADMIN_API_KEY>` (or typed into the sign-in form, which submits it the same way) and
 * exchanged for an HttpOnly, SameSite=Strict cookie scoped to `basePath`; the answer redirects to
 * the URL without the key. The cookie holds no key, only `<expiry>.<HMAC-SHA256(admin key, expiry)>`,
 * so it expires on its own and rotating ADMIN_API_KEY ends every session. Scripts send the admin
 * key as `Authorization: Bearer` or `X-API-Key`. Open only when the whole API is open (no API_KEYS
 * and no ADMIN_API_KEY).
 */
export function adminSessionAuth(options: AdminSessionAuthOptions): RequestHandler {
  const { adminKey, auth, basePath, cookieName } = options;
  const now = options.now ?? Date.now;
  const sessionMs = options.sessionMs ?? DEFAULT_SESSION_MS;
  const open = auth.open && !adminKey;
  const adminDigest = adminKey ? digest(adminKey) : undefined;

  const isAdminKey = (given: unknown): boolean => typeof given === 'string' && adminDigest !== undefined && timingSafeEqual(digest(given), adminDigest);
  const sign = (expires: number) => createHmac('sha256', adminKey ?? '').update(`${cookieName}:${expires}`).digest('base64url');
  const validSession = (req: Request): boolean => {
    const token = readCookie(req, cookieName);
    if (!token || !adminKey) return false;
    const [expiresRaw, mac] = token.split('.');
    const expires = Number(expiresRaw);
    if (!Number.isSafeInteger(expires) || expires <= now() || !mac) return false;
    const expected = Buffer.from(sign(expires));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  return (req, res, next) => {
    if (open || validSession(req)) return next();
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    if (key !== undefined) {
      if (!isAdminKey(key)) return sendLogin(res, basePath, 401, 'That key is not the admin key.');
      const expires = now() + sessionMs;
      res.cookie(cookieName, `${expires}.${sign(expires)}`, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: basePath, maxAge: sessionMs });
      // Drop the key from the address bar and history.
      return res.redirect(303, withoutKey(req));
    }
    if (req.get('authorization') || req.get('x-api-key')) return auth.requireAdmin(req, res, next);
    return sendLogin(res, basePath, 401, adminKey ? undefined : 'API keys are set but ADMIN_API_KEY is not: set it to open this page.');
  };
}

function withoutKey(req: Request): string {
  const url = new URL(req.originalUrl, 'http://gateway.invalid');
  url.searchParams.delete('key');
  return `${url.pathname}${url.search}`;
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

function sendLogin(res: Response, basePath: string, status: number, message?: string): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Twillow · sign in</title>
<style>
  body{margin:0;min-height:100vh;display:grid;place-items:center;background:#0b1020;color:#e6e9f2;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif}
  form{background:#131a2e;border:1px solid #232c47;border-radius:14px;padding:28px 30px;width:min(360px,90vw)}
  h1{font-size:18px;margin:0 0 4px} p{color:#9aa3bd;margin:0 0 18px;font-size:13px}
  input{width:100%;box-sizing:border-box;padding:10px 12px;border-radius:8px;border:1px solid #2b3553;background:#0b1020;color:inherit;font:inherit}
  button{margin-top:14px;width:100%;padding:10px;border:0;border-radius:8px;background:#4f7cff;color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer}
  .err{color:#ff7a85;margin:12px 0 0;font-size:13px}
</style></head>
<body><form method="get" action="${escapeHtml(basePath)}">
  <h1>Twillow queues</h1><p>Enter the admin key (ADMIN_API_KEY) to open the queue board.</p>
  <input type="password" name="key" autocomplete="current-password" placeholder="Admin key" autofocus required>
  <button type="submit">Open</button>
  ${message ? `<p class="err" role="alert">${escapeHtml(message)}</p>` : ''}
</form></body></html>`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
