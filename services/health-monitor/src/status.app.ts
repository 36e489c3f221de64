import express, { Router, type Express, type RequestHandler } from 'express';
import type Redis from 'ioredis';
import { PROVIDER_IDS, type ProviderId } from '@twillow/config';
import { ErrorCodes, NotFoundError, UnavailableError } from '@twillow/errors';
import { errorMiddleware, notFoundHandler, requestIdMiddleware } from '@twillow/http';
import type { Logger, RequestContext } from '@twillow/logger';
import { httpMetricsMiddleware, metricsHandler, type Metrics } from '@twillow/metrics';
import { publishHealthReset, type RedisKeys } from '@twillow/redis';
import type { HealthMonitor } from './health-monitor';

export interface StatusAppDeps {
  monitor: Pick<HealthMonitor, 'isLeader' | 'replicaId' | 'report' | 'reports' | 'reset'>;
  /** Command connection: health check and forwarding resets to the leader. */
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  context: RequestContext;
  /** Mounted after the status routes and before the JSON 404 (room for the dashboard). */
  routers?: Router[];
  /** Counts every request and serves GET /metrics; `refresh` updates the gauges on each scrape. */
  metrics?: { metrics: Metrics; refresh?: () => Promise<void> };
  /** Guards /metrics and resets with the admin key (apiKeyAuth(...).requireAdmin); open when omitted. */
  requireAdmin?: RequestHandler;
}

const open: RequestHandler = (_req, _res, next) => next();

/** Builds the operators' status app; never listens (main does). */
export function createApp(deps: StatusAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestIdMiddleware(deps.context));
  if (deps.metrics) {
    app.use(httpMetricsMiddleware(deps.metrics.metrics));
    app.get('/metrics', deps.requireAdmin ?? open, metricsHandler(deps.metrics.metrics, deps.metrics.refresh));
  }
  app.use(express.json({ limit: '4kb' }));
  app.use(statusRouter(deps));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFoundHandler());
  app.use(errorMiddleware(deps.logger));
  return app;
}

/** GET /health, GET /status, GET /status/:provider, POST /status/:provider/reset. */
export function statusRouter(deps: StatusAppDeps): Router {
  const { monitor, redis, keys } = deps;
  const router = Router();

  router.get('/health', async (_req, res) => {
    try {
      await withTimeout(redis.ping(), 1000);
    } catch (err) {
      deps.logger.warn('health check: Redis does not answer', { error: (err as Error).message });
      throw new UnavailableError(ErrorCodes.redisUnavailable, 'Redis does not answer.', { dependency: 'redis' });
    }
    res.json({ status: 'healthy' });
  });

  router.get('/status', async (_req, res) => {
    res.json({ replica: monitor.replicaId, leader: monitor.isLeader(), providers: await monitor.reports() });
  });

  router.get('/status/:provider', async (req, res) => {
    const report = await monitor.report(providerParam(req.params.provider));
    res.json({ replica: monitor.replicaId, leader: monitor.isLeader(), ...report });
  });

  router.post('/status/:provider/reset', deps.requireAdmin ?? open, async (req, res) => {
    const provider = providerParam(req.params.provider);
    const state = await monitor.reset(provider);
    if (state) {
      res.json({ reset: true, leader: true, state });
      return;
    }
    // Not the leader: hand the command to whoever leads; it applies and publishes the change.
    const heardBy = await publishHealthReset(redis, keys, provider);
    res.status(202).json({ reset: 'requested', leader: false, heard_by: heardBy });
  });

  return router;
}

function providerParam(raw: string | string[] | undefined): ProviderId {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value && (PROVIDER_IDS as readonly string[]).includes(value)) return value as ProviderId;
  throw new NotFoundError(ErrorCodes.unknownProvider, `Unknown provider "${String(value).slice(0, 50)}"; known: ${PROVIDER_IDS.join(', ')}.`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
