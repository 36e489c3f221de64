import type { RequestHandler } from 'express';
import type { Metrics } from './metrics';

/**
 * Counts every answered request by method, matched route pattern (not the raw path, which would
 * explode label cardinality with ids) and status.
 */
export function httpMetricsMiddleware(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** GET /metrics in the Prometheus text format; `beforeCollect` refreshes gauges such as queue depth. */
export function metricsHandler(metrics: Metrics, beforeCollect?: () => Promise<void>): RequestHandler {
  return async (_req, res) => {
    if (beforeCollect) await beforeCollect().catch(() => undefined);
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  };
}
