import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export interface AdminSessionOptions {
  /** ADMIN_API_KEY; without it no session can start or be valid. */
  adminKey?: string;
  cookieName: string;
  /** Path the pages live under; the cookie is scoped to it. */
  path: string;
  /** Lifetime of a session, in ms (default 12 h). */
  sessionMs?: number;
  now?: () => number;
}

export interface AdminSession {
  /** Compares a presented key with the admin key in constant time. */
  isAdminKey(given: unknown): boolean;
  /** True when the request carries an unexpired session cookie signed with the admin key. */
  valid(req: Request): boolean;
  /** Sets the session cookie on the answer. */
  start(req: Request, res: Response): void;
  clear(req: Request, res: Response): void;
}

const DEFAULT_SESSION_MS = 12 * 60 * 60 * 1000;
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Browser sessions for admin pages (the dashboard, Bull Board). A browser cannot put a header on a
 * navigation, so the admin key is presented once and exchanged for an HttpOnly, SameSite=Strict
 * cookie scoped to `path`. The cookie holds no key: it is `<expiry>.<HMAC-SHA256(admin key,
 * cookie name + expiry)>`, so it expires on its own, cannot be forged without the key, and rotating
 * ADMIN_API_KEY ends every session.
 */
export function adminSession(options: AdminSessionOptions): AdminSession {
  const { adminKey, cookieName, path } = options;
  const now = options.now ?? Date.now;
  const sessionMs = options.sessionMs ?? DEFAULT_SESSION_MS;
  const adminDigest = adminKey ? digest(adminKey) : undefined;
  const sign = (expires: number) => createHmac('sha256', adminKey ?? '').update(`${cookieName}:${expires}`).digest('base64url');
  const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, secure: req.secure, path });

  return {
    isAdminKey: (given) => typeof given === 'string' && adminDigest !== undefined && timingSafeEqual(digest(given), adminDigest),
    valid(req) {
      const token = readCookie(req, cookieName);
      if (!token || !adminKey) return false;
      const [expiresRaw, mac] = token.split('.');
      const expires = Number(expiresRaw);
      if (!Number.isSafeInteger(expires) || expires <= now() || !mac) return false;
      const expected = Buffer.from(sign(expires));
      const given = Buffer.from(mac);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    start(req, res) {
      const expires = now() + sessionMs;
      res.cookie(cookieName, `${expires}.${sign(expires)}`, { ...cookieOptions(req), maxAge: sessionMs });
    },
    clear(req, res) {
      res.clearCookie(cookieName, cookieOptions(req));
    },
  };
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

export interface SignInPage {
  status: number;
  /** e.g. "Twillow operations" */
  title: string;
  /** The line under the title. */
  prompt: string;
  action: string;
  method: 'get' | 'post';
  button: string;
  message?: string;
}

/** The admin sign-in form both admin pages show (no caching, no script). */
export function sendSignInPage(res: Response, page: SignInPage): void {
  res.status(page.status).type('html').setHeader('Cache-Control', 'no-store');
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
<body><form method="${page.method}" action="${escapeHtml(page.action)}">
  <h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.prompt)}</p>
  <input type="password" name="key" autocomplete="current-password" placeholder="Admin key" autofocus required>
  <button type="submit">${escapeHtml(page.button)}</button>
  ${page.message ? `<p class="err" role="alert">${escapeHtml(page.message)}</p>` : ''}
</form></body></html>`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
