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
  const router = Router();
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
      const info = (req as Request & { rateLimit?: { used: number; limit: number } }).rateLimit;
      sendError(
        res,
        new AppError(
          ErrorCodes.ingestRateLimited,
          `Ingest rate limit exceeded: at most ${config.ingestLimit} sends per ${config.ingestWindowMs} ms; retry after the Retry-After seconds.`,
          429,
          { details: { current_count: info?.used ?? config.ingestLimit + 1, limit: info?.limit ?? config.ingestLimit, window_ms: config.ingestWindowMs } },
        ),
      );
    },
  });

  const queueSend: RequestHandler = async (_req, res) => {
    const locals = res.locals.send as SendLocals;
    const { response, replayed } = await deps.sendSms.execute(locals);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(200).json(response);
  };

  router.post(['/', '/send'], ...body, validate, ingestLimit, queueSend);

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
