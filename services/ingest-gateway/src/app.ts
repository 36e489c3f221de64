import express, { type Express } from 'express';
import helmet from 'helmet';
import type { GatewayConfig } from './config';
import type { OpenApiDocument } from '@twillow/contracts';
import type { SmsRepository } from '@twillow/db';
import { apiKeyAuth, errorMiddleware, notFoundHandler, requestIdMiddleware } from '@twillow/http';
import type { Logger, RequestContext } from '@twillow/logger';
import type { HealthStateView } from '@twillow/redis';
import type { SharedRateLimiter } from '@twillow/rate-limit';
import type { FailoverIngestStore } from './data-access/ingest-limit.store';
import type { DirectSendUseCase } from './domain/direct-send.use-case';
import type { SendSmsUseCase } from './domain/send-sms.use-case';
import { operationsRoutes } from './routes/operations.routes';
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
  /** The ingest limiter's counter (Redis, with the in-memory fallback). */
  ingestStore: FailoverIngestStore;
  /** Dependency checks of GET /health; each rejects when its dependency does not answer. */
  checks: { redis(): Promise<unknown>; database(): Promise<unknown> };
  openapi: OpenApiDocument;
  /** True once shutdown began: responses ask clients to close keep-alive connections. */
  isShuttingDown(): boolean;
}

/** Builds the Express app. Never listens: main.ts (or a test) does. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestIdMiddleware(deps.context));
  // No HSTS / upgrade-insecure-requests: the gateway speaks plain HTTP behind whatever terminates TLS,
  // and upgrading would break /docs when opened over http://localhost.
  app.use(helmet({ strictTransportSecurity: false, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use((_req, res, next) => {
    if (deps.isShuttingDown()) res.setHeader('Connection', 'close');
    next();
  });
  app.use(serviceRoutes(deps));
  // /health, /openapi.json and /docs stay open; /api/sms/* needs an API key when API_KEYS is set,
  // and resets and direct sends need ADMIN_API_KEY (both open when nothing is configured).
  const auth = apiKeyAuth({ apiKeys: deps.config.env.API_KEYS, adminKey: deps.config.env.ADMIN_API_KEY });
  if (auth.open) deps.logger.warn('API_KEYS is empty: /api/sms/* is open to anyone (local use only)');
  app.use('/api/sms', auth.requireKey);
  app.use('/api/sms', sendRoutes(deps, auth.requireAdmin));
  app.use('/api/sms', requestsRoutes(deps));
  app.use('/api/sms', operationsRoutes(deps, auth.requireAdmin));
  app.use(notFoundHandler());
  app.use(errorMiddleware(deps.logger));
  return app;
}
