import type { Request, RequestHandler } from 'express';
import type { Metrics } from './metrics';

/** Route label of requests that matched no route (404s, static files, mounted apps without routes). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts every answered request by method, matched route pattern (not the raw path, which would
 * explode label cardinality with ids) and status.
 *
 * The pattern is read when the router assigns `req.route`, because only then is `req.baseUrl` the
 * mount path of the router: an error forwarded out of a router mounted at `/api/sms` (a 400 thrown
 * by a handler) reaches the app's error middleware with `baseUrl` restored to '' — reading both at
 * 'finish' would label it `/send` instead of `/api/sms/send`.
 */
export function httpMetricsMiddleware(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const route = captureRoutePattern(req);
    res.on('finish', () => {
      const label = route() ?? UNMATCHED_ROUTE;
      metrics.httpRequests.inc({ method: req.method, route: label, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route: label }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** Remembers `baseUrl + route.path` of the last route the router matched for this request. */
function captureRoutePattern(req: Request): () => string | undefined {
  let route: unknown = req.route;
  let pattern: string | undefined;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: { path?: unknown } | undefined) => {
      route = value;
      if (value?.path !== undefined) {
        const path = Array.isArray(value.path) ? value.path.map(String).join('|') : String(value.path);
        pattern = `${req.baseUrl}${path}`;
      }
    },
  });
  return () => pattern;
}

/** GET /metrics in the Prometheus text format; `beforeCollect` refreshes gauges such as queue depth. */
export function metricsHandler(metrics: Metrics, beforeCollect?: () => Promise<void>): RequestHandler {
  return async (_req, res) => {
    if (beforeCollect) await beforeCollect().catch(() => undefined);
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  };
}
