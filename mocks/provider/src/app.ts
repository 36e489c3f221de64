import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError, ErrorCodes, ValidationError } from '@twillow/errors';
import { errorMiddleware, notFoundHandler, sendError } from '@twillow/http';
import { maskPhone, type Logger } from '@twillow/logger';
import { MOCK_MODES, type MockSettings, type MockState } from './mock-state';
import type { PendingResponses } from './pending-responses';

export interface MockAppDeps {
  logger: Logger;
  /** Delayed and held answers; the server closes them on shutdown. */
  pending: PendingResponses;
  /** Uniform random number in [0, 1); injectable so tests can force failures. */
  random?: () => number;
  /** The mock's own reference for an accepted send. */
  newReference?: () => string;
  /** Largest accepted JSON body, in bytes. */
  bodyLimitBytes?: number;
}

/** E.164: a plus and 7 to 15 digits, the first not 0. */
const E164 = /^\+[1-9]\d{6,14}$/;
const MAX_DELAY_MS = 600_000;

const modeBodySchema = z.strictObject({ mode: z.enum(MOCK_MODES) });

const delayMs = () => z.number().int().min(0).max(MAX_DELAY_MS);
const configBodySchema = z
  .strictObject({
    rate_limit: z.number().int().min(1).max(1_000_000).optional(),
    latency_ms: delayMs().optional(),
    jitter_ms: delayMs().optional(),
    failure_rate: z.number().min(0).max(1).optional(),
    slow_ms: delayMs().optional(),
    dedupe: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { error: 'give at least one of rate_limit, latency_ms, jitter_ms, failure_rate, slow_ms, dedupe' });

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? null);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new ValidationError(ErrorCodes.validation, `${field}: ${issue.message}`, field);
}

interface SendBody {
  phone: string;
  text: string;
  message_id: string;
}

/** The provider contract's request: a 400 names the first bad field. */
function validateSend(body: unknown): SendBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError(ErrorCodes.validation, 'The body must be a JSON object {phone, text, message_id}.', 'body');
  }
  const { phone, text, message_id: messageId } = body as Record<string, unknown>;
  if (typeof phone !== 'string' || !E164.test(phone)) {
    throw new ValidationError(
      ErrorCodes.invalidPhone,
      phone === undefined ? 'phone is required' : 'phone must be E.164: + and 7 to 15 digits',
      'phone',
    );
  }
  if (typeof text !== 'string' || text.trim().length === 0) {
    throw new ValidationError(ErrorCodes.emptyText, 'text must be a non-empty string', 'text');
  }
  if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 200) {
    throw new ValidationError(ErrorCodes.validation, 'message_id must be a string of 1 to 200 characters', 'message_id');
  }
  return { phone, text, message_id: messageId };
}

/**
 * The provider mock: `POST /api/sms/<provider id>` under the provider contract (DESIGN.md), plus
 * admin endpoints to read counters and switch mode or settings at run time. Never listens.
 */
export function createMockApp(state: MockState, deps: MockAppDeps): Express {
  const { logger, pending } = deps;
  const random = deps.random ?? Math.random;
  const newReference = deps.newReference ?? (() => `${state.providerId}-${randomUUID()}`);
  const json = express.json({ limit: deps.bodyLimitBytes ?? 65536 });
  const debug = () => logger.isDebugEnabled();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Counts the arrival before the body is read, so a malformed body is still a received request.
  // The arrival time (the limiter's monotonic ms) goes back in a header, so tests can check every
  // decision against the window rule however late their own timers ran.
  const arrive: RequestHandler = (_req, res, next) => {
    const arrivedAt = state.receive();
    res.locals.arrivedAt = arrivedAt;
    res.setHeader('X-Mock-Arrived-Ms', arrivedAt.toFixed(3));
    next();
  };
  const parseSendJson: RequestHandler = (req, res, next) => {
    json(req, res, (err?: unknown) => {
      if (err) state.recordRejected();
      next(err);
    });
  };

  app.post(`/api/sms/${state.providerId}`, arrive, parseSendJson, (req: Request, res: Response) => {
    const mode = state.mode;
    const settings = state.settings;
    const body = req.body as Record<string, unknown> | undefined;
    const messageId = typeof body?.message_id === 'string' ? body.message_id : undefined;
    const phone = typeof body?.phone === 'string' ? maskPhone(body.phone) : undefined;
    const log = (outcome: string, status: number | null, delay: number) => {
      if (debug()) logger.debug('send', { provider: state.providerId, outcome, status, delay_ms: delay, mode, message_id: messageId, phone });
    };

    if (mode === 'timeout') {
      state.recordUnanswered();
      log('unanswered', null, 0);
      return pending.hold(res);
    }

    const delay = mode === 'slow' ? settings.slowMs : settings.latencyMs + Math.floor(random() * (settings.jitterMs + 1));
    const fail = (err: AppError, outcome: string) => {
      log(outcome, err.status, delay);
      pending.answerAfter(res, delay, () => sendError(res, err));
    };

    if (mode === 'down') {
      state.recordFailed();
      return fail(new AppError(ErrorCodes.providerFailed, `${state.providerId} is down.`, 503), 'down');
    }

    const admission = state.admit(res.locals.arrivedAt as number);
    if (!admission.admitted) {
      const retryAfter = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      return fail(
        new AppError(ErrorCodes.providerRateLimited, `${state.providerId} allows ${settings.rateLimit} requests per second.`, 429, {
          headers: { 'Retry-After': String(retryAfter) },
          details: { limit: settings.rateLimit, retry_after_ms: Math.ceil(admission.retryAfterMs) },
        }),
        'throttled',
      );
    }

    // The provider contract: a message_id accepted before is answered with the original reference
    // and not delivered again (our retry after an ambiguous timeout or a dispatcher crash).
    const original = messageId === undefined ? undefined : state.deduplicate(messageId);
    if (original !== undefined) {
      log('deduplicated', 200, delay);
      pending.answerAfter(res, delay, () => {
        res.status(200).json({ status: 'accepted', message_id: messageId, id: original, provider: state.providerId, deduplicated: true });
      });
      return;
    }

    if (mode === 'reject') {
      state.recordRejected();
      return fail(new AppError(ErrorCodes.providerRejected, `${state.providerId} rejects every message (reject mode).`, 400), 'rejected');
    }

    let send: SendBody;
    try {
      send = validateSend(body);
    } catch (err) {
      state.recordRejected();
      return fail(err as AppError, 'invalid');
    }

    if (random() < state.failureRate()) {
      state.recordFailed();
      return fail(new AppError(ErrorCodes.providerFailed, `${state.providerId} failed at random.`, 500), 'failed');
    }

    const reference = newReference();
    const { duplicate } = state.recordAccepted(send.message_id, reference);
    log(duplicate ? 'accepted-duplicate' : 'accepted', 200, delay);
    pending.answerAfter(res, delay, () => {
      res.status(200).json({ status: 'accepted', message_id: send.message_id, id: reference, provider: state.providerId });
    });
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', provider: state.providerId, mode: state.mode });
  });

  app.get('/admin/stats', (_req, res) => {
    res.json(state.stats());
  });

  app.get('/admin/arrivals', (_req, res) => {
    const times = state.arrivalTimes();
    // time_origin_ms + a time = epoch ms (the default clock is performance.now): how a test puts the
    // arrivals of mocks in different processes on one time line.
    res.json({ provider: state.providerId, count: times.length, received: state.stats().received, time_origin_ms: performance.timeOrigin, times_ms: times });
  });

  app.get('/admin/accepted', (_req, res) => {
    const ids = state.acceptedMessageIds();
    res.json({ provider: state.providerId, count: ids.length, message_ids: ids });
  });

  app.post('/admin/reset', (_req, res) => {
    state.reset();
    logger.info('counters reset', { provider: state.providerId });
    res.json(state.stats());
  });

  app.post('/admin/mode', json, (req, res) => {
    const { mode } = parseBody(modeBodySchema, req.body);
    const previous = state.setMode(mode);
    logger.info('mode changed', { provider: state.providerId, mode, previous_mode: previous });
    res.json({ provider: state.providerId, mode, previous_mode: previous });
  });

  app.post('/admin/config', json, (req, res) => {
    const patch = parseBody(configBodySchema, req.body);
    const next: Partial<MockSettings> = {
      rateLimit: patch.rate_limit,
      latencyMs: patch.latency_ms,
      jitterMs: patch.jitter_ms,
      failureRate: patch.failure_rate,
      slowMs: patch.slow_ms,
      dedupe: patch.dedupe,
    };
    const s = state.configure(next);
    logger.info('config changed', { provider: state.providerId, ...patch });
    res.json({
      provider: state.providerId,
      rate_limit: s.rateLimit,
      latency_ms: s.latencyMs,
      jitter_ms: s.jitterMs,
      failure_rate: s.failureRate,
      slow_ms: s.slowMs,
      dedupe: s.dedupe,
    });
  });

  app.use(notFoundHandler());
  app.use(errorMiddleware(logger));
  return app;
}
