import { Router, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError, ErrorCodes, ValidationError } from '@twillow/errors';
import { sendError } from '@twillow/http';
import type { AppDeps } from '../app';
import { readIdempotencyKey } from '../domain/idempotency';
import { readSmsMessage, type SmsMessage } from '../domain/sms-message';
import { jsonBody } from './body-parsing';

interface SendLocals {
  message: SmsMessage;
  idempotencyKey?: string;
  requestId?: string;
}

/** POST /api/sms/ and /api/sms/send (queued) and POST /api/sms/providerN (direct). */
export function sendRoutes(deps: AppDeps, requireAdmin: RequestHandler): Router {
  const { config } = deps;
  const rules = { defaultRegion: config.env.DEFAULT_REGION, maxSegments: config.env.MAX_SEGMENTS };
  const router = Router({ caseSensitive: true });
  const body = jsonBody(config.env.BODY_LIMIT_BYTES);

  // Validation runs before the ingest limiter, so malformed requests do not spend the shared limit.
  const validate: RequestHandler = (req, res, next) => {
    const locals: SendLocals = {
      message: readSmsMessage(req.body, rules),
      idempotencyKey: readIdempotencyKey(req.get('idempotency-key')),
      requestId: res.locals.requestId as string | undefined,
    };
    res.locals.send = locals;
    next();
  };

  const { metrics } = deps.metrics;
  const ingestLimit = rateLimit({
    windowMs: config.ingestWindowMs,
    limit: config.ingestLimit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: 'ingest',
    // One counter for the whole service (as the original's global limit), shared by every replica.
    keyGenerator: () => 'global',
    store: deps.ingestStore,
    handler: (req: Request, res: Response) => {
      metrics.ingestRejected.inc({ scope: 'global' });
      const info = usage(req, config.ingestLimit);
      sendError(
        res,
        new AppError(
          ErrorCodes.ingestRateLimited,
          `Ingest rate limit exceeded: at most ${config.ingestLimit} sends per ${config.ingestWindowMs} ms for the whole service; retry after the Retry-After seconds.`,
          429,
          { details: { scope: 'global', current_count: info.used, limit: info.limit, window_ms: config.ingestWindowMs } },
        ),
      );
    },
  });

  // Per API key (API_KEY_RATE_LIMIT), checked before the shared limit so a key over its own limit
  // does not spend the shared one. Keyed by keyId(key) (a hash prefix: no key in Redis), counted in
  // Redis under its own prefix. Requests without a key (only possible while the API runs open) skip it.
  const keyLimit: RequestHandler[] =
    config.keyLimit !== undefined && deps.keyLimitStore
      ? [
          rateLimit({
            windowMs: config.ingestWindowMs,
            limit: config.keyLimit,
            // The shared limiter sends the RateLimit headers; two sets would contradict each other.
            standardHeaders: false,
            legacyHeaders: false,
            identifier: 'ingest-key',
            keyGenerator: (_req, res) => res.locals.apiKeyId as string,
            skip: (_req, res) => typeof res.locals.apiKeyId !== 'string',
            store: deps.keyLimitStore,
            handler: (req: Request, res: Response) => {
              metrics.ingestRejected.inc({ scope: 'key' });
              const limit = config.keyLimit!;
              const info = usage(req, limit);
              const resetMs = info.resetTime ? info.resetTime.getTime() - Date.now() : config.ingestWindowMs;
              sendError(
                res,
                new AppError(
                  ErrorCodes.keyRateLimited,
                  `Rate limit of this API key exceeded: at most ${limit} sends per ${config.ingestWindowMs} ms per key; retry after the Retry-After seconds.`,
                  429,
                  {
                    details: { scope: 'key', key_id: res.locals.apiKeyId, current_count: info.used, limit, window_ms: config.ingestWindowMs },
                    headers: { 'Retry-After': String(Math.max(1, Math.ceil(resetMs / 1000))) },
                  },
                ),
              );
            },
          }),
        ]
      : [];

  const queueSend: RequestHandler = async (_req, res) => {
    const locals = res.locals.send as SendLocals;
    const { response, replayed } = await deps.sendSms.execute(locals);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    else metrics.ingestAccepted.inc();
    res.status(200).json(response);
  };

  // Two registrations, not ['/', '/send']: the metrics route label is the matched pattern.
  for (const path of ['/', '/send']) router.post(path, ...body, validate, ...keyLimit, ingestLimit, queueSend);

  for (const provider of config.providers) {
    router.post(`/${provider.id}`, requireAdmin, ...body, async (req, res) => {
      const message = readSmsMessage(req.body, rules);
      // Direct sends are not idempotent (each call sends); refuse a key rather than ignore it.
      if (readIdempotencyKey(req.get('idempotency-key')) !== undefined) {
        throw new ValidationError(
          ErrorCodes.invalidIdempotencyKey,
          'Direct sends do not take an Idempotency-Key (every call sends); use POST /api/sms/send for idempotent sends.',
          'Idempotency-Key',
        );
      }
      res.status(200).json(await deps.directSend.execute(provider, message, res.locals.requestId as string | undefined));
    });
  }
  return router;
}

/** What express-rate-limit counted for this request (set on req before the handler runs). */
function usage(req: Request, limit: number): { used: number; limit: number; resetTime?: Date } {
  const info = (req as Request & { rateLimit?: { used: number; limit: number; resetTime?: Date } }).rateLimit;
  return { used: info?.used ?? limit + 1, limit: info?.limit ?? limit, resetTime: info?.resetTime };
}
