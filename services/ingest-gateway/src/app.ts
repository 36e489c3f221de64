import type { Queue } from 'bullmq';
import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { GatewayConfig } from './config';
import type { OpenApiDocument } from '@twillow/contracts';
import type { SmsRepository } from '@twillow/db';
import { apiKeyAuth, errorMiddleware, notFoundHandler, requestIdMiddleware, type ApiKeyAuth } from '@twillow/http';
import type { Logger, RequestContext } from '@twillow/logger';
import { httpMetricsMiddleware, metricsHandler, type Metrics } from '@twillow/metrics';
import type { HealthStateView } from '@twillow/redis';
import type { SharedRateLimiter } from '@twillow/rate-limit';
import type { FailoverIngestStore } from './data-access/ingest-limit.store';
import type { DirectSendUseCase } from './domain/direct-send.use-case';
import type { SendSmsUseCase } from './domain/send-sms.use-case';
import { adminSessionAuth } from './routes/admin-session.auth';
import { operationsRoutes } from './routes/operations.routes';
import { queueBoardRouter, QUEUE_BOARD_PATH } from './routes/queue-board.routes';
import { requestsRoutes } from './routes/requests.routes';
import { sendRoutes } from './routes/send.routes';
import { serviceRoutes } from './routes/service.routes';

/** Everything the HTTP layer uses; built by the composition root (compose.ts) or by tests. */
export interface AppDeps {
  config: GatewayConfig;
  logger: Logger;
  context: RequestContext;
  sendSms: SendSmsUseCase;
  directSend: DirectSendUseCase;
  repository: Pick<SmsRepository, 'list' | 'findWithResponses'>;
  limiter: Pick<SharedRateLimiter, 'snapshot' | 'distribution' | 'resetDistribution'>;
  health: Pick<HealthStateView, 'get' | 'effectiveState'>;
  /** Publishes a health reset; resolves with the number of monitors that heard it. */
  resetHealth(provider: string): Promise<number>;
  /** The shared ingest limiter's counter (Redis, with the in-memory fallback). */
  ingestStore: FailoverIngestStore;
  /** The per-API-key ingest limiter's counter; set when API_KEY_RATE_LIMIT is. */
  keyLimitStore?: FailoverIngestStore;
  /** Dependency checks of GET /health; each rejects when its dependency does not answer. */
  checks: { redis(): Promise<unknown>; database(): Promise<unknown> };
  openapi: OpenApiDocument;
  /** This process's metrics; `refresh` updates the gauges (queue depth, availability) on each scrape. */
  metrics: { metrics: Metrics; refresh?: () => Promise<void> };
  /** Queues shown on Bull Board at /admin/queues. */
  queues: Queue[];
  /** True once shutdown began: responses ask clients to close keep-alive connections. */
  isShuttingDown(): boolean;
}

/** Headers a browser client may send cross-origin, and those it may read from our answers. */
const CORS_REQUEST_HEADERS = ['Content-Type', 'Authorization', 'X-API-Key', 'Idempotency-Key', 'X-Request-Id'];
const CORS_EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Idempotent-Replayed'];

/**
 * Builds the Express app. Never listens: main.ts (or a test) does.
 *
 * Access: /health, /openapi.json and /docs are open; /api/sms/* needs an API key (or the admin
 * key) when API_KEYS is set; resets, direct sends, /metrics and Bull Board (/admin/queues) need
 * ADMIN_API_KEY whenever any key is configured. With no key at all everything is open (compose
 * logs a SECURITY warning at start-up).
 */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // /api/sms/PROVIDER1/status is a 404, like /api/sms/health/PROVIDER1 (each Router opts in too).
  app.set('case sensitive routing', true);
  app.use(requestIdMiddleware(deps.context));
  app.use(httpMetricsMiddleware(deps.metrics.metrics));
  // Default helmet CSP (script-src 'self'; style-src 'self' https: 'unsafe-inline'; img-src 'self' data:)
  // fits both Swagger UI (its scripts are files under /docs) and Bull Board (script files under
  // /admin/queues/static, inline styles, Google Fonts over https). No HSTS and no
  // upgrade-insecure-requests: the gateway speaks plain HTTP behind whatever terminates TLS, and
  // upgrading would break /docs opened over http://localhost.
  app.use(helmet({ strictTransportSecurity: false, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(corsMiddleware(config.env.CORS_ORIGINS));
  app.use((_req, res, next) => {
    if (deps.isShuttingDown()) res.setHeader('Connection', 'close');
    next();
  });

  const auth: ApiKeyAuth = apiKeyAuth({ apiKeys: config.env.API_KEYS, adminKey: config.env.ADMIN_API_KEY });
  // The API first: a send then does not walk the /health, /docs (Swagger), /metrics and Bull Board
  // layers. None of those paths is under /api/sms, so the order changes no answer.
  app.use('/api/sms', auth.requireKey);
  app.use('/api/sms', sendRoutes(deps, auth.requireAdmin));
  app.use('/api/sms', requestsRoutes(deps));
  app.use('/api/sms', operationsRoutes(deps, auth.requireAdmin));
  app.use(serviceRoutes(deps));
  app.get('/metrics', auth.requireAdmin, metricsHandler(deps.metrics.metrics, deps.metrics.refresh));
  app.use(
    QUEUE_BOARD_PATH,
    adminSessionAuth({ adminKey: config.env.ADMIN_API_KEY, auth, basePath: QUEUE_BOARD_PATH, cookieName: 'twillow_admin_queues' }),
    queueBoardRouter(deps.queues),
  );
  app.use(notFoundHandler());
  app.use(errorMiddleware(deps.logger));
  return app;
}

/**
 * CORS through the cors package, closed by default: only origins listed in CORS_ORIGINS get
 * Access-Control-Allow-Origin (echoed, with Vary: Origin); any other origin gets no CORS header, so
 * the browser refuses the answer. Preflights (OPTIONS) are answered here with 204 before any auth.
 */
function corsMiddleware(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: CORS_REQUEST_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
  });
  // A request without Origin is not cross-origin: the origin callback above refuses it, so cors
  // only calls next() — skip copying its options for every server-to-server send.
  return (req, res, next) => (req.headers.origin === undefined ? next() : handler(req, res, next));
}
