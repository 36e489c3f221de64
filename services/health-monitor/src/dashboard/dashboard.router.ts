import express, { Router } from 'express';
import type { DashboardAuth } from './dashboard.auth';
import type { DashboardSnapshot } from './dashboard.data';
import type { DashboardFeed } from './dashboard.feed';

export interface DashboardRouterDeps {
  auth: DashboardAuth;
  /** The page: one static HTML file with inline CSS and JS, read once at compose time. */
  html: string;
  snapshot(): Promise<DashboardSnapshot>;
  feed: DashboardFeed;
}

/**
 * GET /dashboard (page), GET /dashboard/data (one JSON snapshot), GET /dashboard/events (a snapshot
 * per second as server-sent events), POST /dashboard/login and /dashboard/logout; GET / redirects.
 */
export function dashboardRouter(deps: DashboardRouterDeps): Router {
  const { auth } = deps;
  const router = Router();
  // Without keys there is no session to end.
  const html = auth.open ? deps.html.replace(/<form method="post" action="\/dashboard\/logout"[\s\S]*?<\/form>/, '') : deps.html;

  router.get('/', (_req, res) => res.redirect(302, '/dashboard'));

  router.get('/dashboard', auth.page, (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    // Inline CSS and JS only; nothing loads from elsewhere, and nothing may frame the page.
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(html);
  });

  router.get('/dashboard/data', auth.api, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.snapshot());
  });

  router.get('/dashboard/events', auth.api, (_req, res) => {
    deps.feed.subscribe(res);
  });

  router.post('/dashboard/login', express.urlencoded({ extended: false, limit: '2kb' }), auth.login);
  router.post('/dashboard/logout', auth.logout);

  return router;
}
