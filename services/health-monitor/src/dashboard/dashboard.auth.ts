import type { Request, RequestHandler, Response } from 'express';
import { adminSession, apiKeyAuth, sendSignInPage } from '@twillow/http';

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

/**
 * Browser access to the dashboard through an admin session (packages/http adminSession): the admin
 * key is presented once (`?key=` or the login form) and exchanged for a signed HttpOnly cookie
 * scoped to /dashboard. Scripts may send the admin key as a Bearer header instead.
 */
export function dashboardAuth(options: DashboardAuthOptions): DashboardAuth {
  const { adminKey, apiKeys } = options;
  const headerAuth = apiKeyAuth({ apiKeys, adminKey }).requireAdmin;
  const open = !adminKey && apiKeys.length === 0;
  const session = adminSession({ adminKey, cookieName: SESSION_COOKIE, path: COOKIE_PATH, sessionMs: options.sessionMs, now: options.now });
  const queryKey = (req: Request) => (typeof req.query.key === 'string' ? req.query.key : undefined);

  const page: RequestHandler = (req, res, next) => {
    if (open || session.valid(req)) return next();
    const key = queryKey(req);
    if (key !== undefined) {
      if (!session.isAdminKey(key)) return sendLogin(res, 401, 'That key is not the admin key.');
      session.start(req, res);
      // Drop the key from the address bar and history.
      return res.redirect(303, COOKIE_PATH);
    }
    if (req.get('authorization') || req.get('x-api-key')) return headerAuth(req, res, next);
    return sendLogin(res, 401, adminKey ? undefined : 'API keys are set but ADMIN_API_KEY is not: set it to open the dashboard.');
  };

  const api: RequestHandler = (req, res, next) => {
    if (open || session.valid(req)) return next();
    const key = queryKey(req);
    if (key !== undefined && session.isAdminKey(key)) {
      session.start(req, res);
      return next();
    }
    return headerAuth(req, res, next);
  };

  const login: RequestHandler = (req, res) => {
    const key = (req.body as Record<string, unknown> | undefined)?.key;
    if (!session.isAdminKey(key)) return sendLogin(res, 401, 'That key is not the admin key.');
    session.start(req, res);
    res.redirect(303, COOKIE_PATH);
  };

  const logout: RequestHandler = (req, res) => {
    session.clear(req, res);
    res.redirect(303, COOKIE_PATH);
  };

  return { open, page, api, login, logout };
}

function sendLogin(res: Response, status: number, message?: string): void {
  sendSignInPage(res, {
    status,
    title: 'Twillow operations',
    prompt: 'Enter the admin key (ADMIN_API_KEY) to open the dashboard.',
    action: `${COOKIE_PATH}/login`,
    method: 'post',
    button: 'Open dashboard',
    message,
  });
}
