import express, { type Express, type RequestHandler } from 'express';
import { errorMiddleware, notFoundHandler, requestIdMiddleware } from '@twillow/http';
import type { Logger, RequestContext } from '@twillow/logger';
import { httpMetricsMiddleware, metricsHandler, type Metrics } from '@twillow/metrics';

export interface HealthChecks {
  /** Resolves when Redis answers. */
  redis(): Promise<void>;
  /** Resolves when the database answers. */
  database(): Promise<void>;
  /** True while the worker takes jobs. */
  worker(): boolean;
}

/** GET /health: 200 when Redis, the database and the worker are fine, else 503 naming the part. */
export function healthRoute(checks: HealthChecks, logger: Logger, timeoutMs = 2000): RequestHandler {
  const probe = async (check: () => Promise<void>): Promise<'ok' | 'down'> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return 'ok';
    } catch (err) {
      logger.warn('health check failed', { error: (err as Error).message });
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  };
  return async (_req, res) => {
    const [redis, database] = await Promise.all([probe(checks.redis), probe(checks.database)]);
    const worker = checks.worker() ? 'ok' : 'down';
    const healthy = redis === 'ok' && database === 'ok' && worker === 'ok';
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'degraded', service: 'dispatcher', checks: { redis, database, worker } });
  };
}

export interface DispatcherAppDeps {
  checks: HealthChecks;
  logger: Logger;
  context: RequestContext;
  metrics: Metrics;
  /** Updates gauges (queue depth, availability) before each scrape. */
  refreshMetrics: () => Promise<void>;
  /** Guards /metrics with the admin key (apiKeyAuth(...).requireAdmin). */
  requireAdmin: RequestHandler;
}

/** The dispatcher's small HTTP surface: GET /health and GET /metrics (admin); JSON 404 for the rest. */
export function createDispatcherApp(deps: DispatcherAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.use(requestIdMiddleware(deps.context));
  app.use(httpMetricsMiddleware(deps.metrics));
  app.get('/health', healthRoute(deps.checks, deps.logger));
  app.get('/metrics', deps.requireAdmin, metricsHandler(deps.metrics, deps.refreshMetrics));
  app.use(notFoundHandler());
  app.use(errorMiddleware(deps.logger));
  return app;
}
