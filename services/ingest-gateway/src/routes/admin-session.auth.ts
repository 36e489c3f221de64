import type { Request, RequestHandler } from 'express';
import { adminSession, sendSignInPage, type ApiKeyAuth } from '@twillow/http';

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

/**
 * Browser access to admin pages (Bull Board) through an admin session (packages/http adminSession,
 * the same scheme as the health monitor's dashboard): the admin key is presented once as
 * `?key=<ADMIN_API_KEY>` (or typed into the sign-in form, which submits it the same way) and
 * exchanged for a signed HttpOnly cookie scoped to `basePath`; the answer redirects to the URL
 * without the key. Scripts send the admin key as `Authorization: Bearer` or `X-API-Key`. Open only
 * when the whole API is open (no API_KEYS and no ADMIN_API_KEY).
 */
export function adminSessionAuth(options: AdminSessionAuthOptions): RequestHandler {
  const { adminKey, auth, basePath, cookieName } = options;
  const open = auth.open && !adminKey;
  const session = adminSession({ adminKey, cookieName, path: basePath, sessionMs: options.sessionMs, now: options.now });
  const signIn = (res: Parameters<RequestHandler>[1], message?: string) =>
    sendSignInPage(res, {
      status: 401,
      title: 'Twillow queues',
      prompt: 'Enter the admin key (ADMIN_API_KEY) to open the queue board.',
      action: basePath,
      method: 'get',
      button: 'Open',
      message,
    });

  return (req, res, next) => {
    if (open || session.valid(req)) return next();
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    if (key !== undefined) {
      if (!session.isAdminKey(key)) return signIn(res, 'That key is not the admin key.');
      session.start(req, res);
      // Drop the key from the address bar and history.
      return res.redirect(303, withoutKey(req));
    }
    if (req.get('authorization') || req.get('x-api-key')) return auth.requireAdmin(req, res, next);
    return signIn(res, adminKey ? undefined : 'API keys are set but ADMIN_API_KEY is not: set it to open this page.');
  };
}

function withoutKey(req: Request): string {
  const url = new URL(req.originalUrl, 'http://gateway.invalid');
  url.searchParams.delete('key');
  return `${url.pathname}${url.search}`;
}
