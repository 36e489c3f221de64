import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { apiKeyAuth } from '@twillow/http';

export interface DashboardAuthOptions {
  /** ADMIN_API_KEY; the dashboard needs it whenever it is set. */
  adminKey?: string;
  /** API_KEYS; with keys but no admin key the dashboard stays closed, as every admin endpoint does. */
  apiKeys: string[];
  /** Lifetime of a dashboard session cookie, ms. */
  sessionMs?: number;
  now?: () => number;
}

export interface DashboardAuth {
  /** True when no key at all is configured (local first try): everything is let through. */
  open: boolean;
  /** For the HTML page: a session cookie, `?key=<admin key>` (sets the cookie, then redirects to a clean URL) or a Bearer header; else a login page. */
  page: RequestHandler;
  /** For data and events: a session cookie, `?key=` or the admin key as Bearer / X-API-Key; else a JSON 401. */
  api: RequestHandler;
  /** POST /dashboard/login (form field `key`): sets the cookie and redirects to the dashboard. */
  login: RequestHandler;
  /** POST /dashboard/logout: clears the cookie. */
  logout: RequestHandler;
}

export const SESSION_COOKIE = 'twillow_dashboard';
const COOKIE_PATH = '/dashboard';
const DEFAULT_SESSION_MS = 12 * 60 * 60 * 1000;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Browser access to the dashboard. A browser cannot put a header on a navigation, so the admin key
 * is presented once (`?key=` or the login form) and exchanged for an HttpOnly, SameSite=Strict
 * cookie scoped to /dashboard. The cookie holds no key: it is `<expiry>.<HMAC-SHA256(admin key,
 * expiry)>`, so it expires on its own, cannot be forged without the key, and rotating
 * ADMIN_API_KEY ends every session. Scripts may send the admin key as a Bearer header instead.
 */
export function dashboardAuth(options: DashboardAuthOptions): DashboardAuth {
  const { adminKey, apiKeys } = options;
  const now = options.now ?? Date.now;
  const sessionMs = options.sessionMs ?? DEFAULT_SESSION_MS;
  const headerAuth = apiKeyAuth({ apiKeys, adminKey }).requireAdmin;
  const open = !adminKey && apiKeys.length === 0;
  const adminDigest = adminKey ? digest(adminKey) : undefined;

  const isAdminKey = (given: unknown): boolean =>
    typeof given === 'string' && adminDigest !== undefined && timingSafeEqual(digest(given), adminDigest);
  const sign = (expires: number) => createHmac('sha256', adminKey ?? '').update(`twillow-dashboard:${expires}`).digest('base64url');
  const validSession = (req: Request): boolean => {
    const token = readCookie(req, SESSION_COOKIE);
    if (!token || !adminKey) return false;
    const [expiresRaw, mac] = token.split('.');
    const expires = Number(expiresRaw);
    if (!Number.isSafeInteger(expires) || expires <= now() || !mac) return false;
    const expected = Buffer.from(sign(expires));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const startSession = (req: Request, res: Response) => {
    const expires = now() + sessionMs;
    res.cookie(SESSION_COOKIE, `${expires}.${sign(expires)}`, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: COOKIE_PATH,
      maxAge: sessionMs,
    });
  };
  const queryKey = (req: Request) => (typeof req.query.key === 'string' ? req.query.key : undefined);

  const page: RequestHandler = (req, res, next) => {
    if (open || validSession(req)) return next();
    const key = queryKey(req);
    if (key !== undefined) {
      if (!isAdminKey(key)) return sendLogin(res, 401, 'That key is not the admin key.');
      startSession(req, res);
      // Drop the key from the address bar and history.
      return res.redirect(303, COOKIE_PATH);
    }
    if (req.get('authorization') || req.get('x-api-key')) return headerAuth(req, res, next);
    return sendLogin(res, 401, adminKey ? undefined : 'API keys are set but ADMIN_API_KEY is not: set it to open the dashboard.');
  };

  const api: RequestHandler = (req, res, next) => {
    if (open || validSession(req)) return next();
    const key = queryKey(req);
    if (key !== undefined && isAdminKey(key)) {
      startSession(req, res);
      return next();
    }
    return headerAuth(req, res, next);
  };

  const login: RequestHandler = (req, res) => {
    const key = (req.body as Record<string, unknown> | undefined)?.key;
    if (!isAdminKey(key)) return sendLogin(res, 401, 'That key is not the admin key.');
    startSession(req, res);
    res.redirect(303, COOKIE_PATH);
  };

  const logout: RequestHandler = (req, res) => {
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: COOKIE_PATH });
    res.redirect(303, COOKIE_PATH);
  };

  return { open, page, api, login, logout };
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

function sendLogin(res: Response, status: number, message?: string): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Twillow · sign in</title>
<style>
  body{margin:0;min-height:100vh;display:grid;place-items:center;background:#0b1020;color:#e6e9f2;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif}
  form{background:#131a2e;border:1px solid #232c47;border-radius:14px;padding:28px 30px;width:min(360px,90vw);box-shadow:0 10px 40px #0006}
  h1{font-size:18px;margin:0 0 4px} p{color:#9aa3bd;margin:0 0 18px;font-size:13px}
  input{width:100%;box-sizing:border-box;padding:10px 12px;border-radius:8px;border:1px solid #2b3553;background:#0b1020;color:inherit;font:inherit}
  button{margin-top:14px;width:100%;padding:10px;border:0;border-radius:8px;background:#4f7cff;color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer}
  .err{color:#ff7a85;margin:12px 0 0;font-size:13px}
</style></head>
<body><form method="post" action="${COOKIE_PATH}/login">
  <h1>Twillow operations</h1><p>Enter the admin key (ADMIN_API_KEY) to open the dashboard.</p>
  <input type="password" name="key" autocomplete="current-password" placeholder="Admin key" autofocus required>
  <button type="submit">Open dashboard</button>
  ${message ? `<p class="err" role="alert">${escapeHtml(message)}</p>` : ''}
</form></body></html>`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
