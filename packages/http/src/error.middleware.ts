import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError, ErrorCodes } from '@twillow/errors';
import type { ErrorResponse } from '@twillow/contracts';
import type { Logger } from '@twillow/logger';

export function sendError(res: Response, err: AppError): void {
  const body: ErrorResponse = {
    status: err.status,
    code: err.code,
    message: err.message,
    ...(err.field ? { field: err.field } : {}),
    ...(err.details ? { details: err.details } : {}),
    ...(res.locals.requestId ? { request_id: res.locals.requestId as string } : {}),
  };
  for (const [k, v] of Object.entries(err.extra.headers ?? {})) res.setHeader(k, String(v));
  res.status(err.status).json(body);
}

/** Maps body-parser's errors (they carry `type` and `status`) onto our codes. */
function fromBodyParser(err: { type?: string; status?: number; message?: string; limit?: number }): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(ErrorCodes.invalidJson, 'The request body is not valid JSON.', 400, { field: 'body' });
    case 'entity.too.large':
      return new AppError(ErrorCodes.bodyTooLarge, `The request body is larger than the limit of ${err.limit} bytes.`, 413, {
        field: 'body',
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(ErrorCodes.unsupportedMediaType, 'The request body must be UTF-8 JSON.', 415, { field: 'body' });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError(ErrorCodes.invalidJson, 'The request body could not be read.', 400, { field: 'body' });
    default:
      return undefined;
  }
}

/**
 * The last middleware: AppErrors become their JSON shape; anything else becomes a 500 with an error id
 * that is logged with the stack, which never leaves the server.
 */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const known = err instanceof AppError ? err : fromBodyParser(err as never);
    if (known) {
      if (known.status >= 500) logger.warn('request failed', { code: known.code, error: known.message });
      return sendError(res, known);
    }
    const status = (err as { status?: number })?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, new AppError(ErrorCodes.validation, (err as Error).message ?? 'Bad request', status));
    }
    const errorId = randomUUID();
    logger.error('unhandled error', { error_id: errorId, error: err instanceof Error ? err.stack : String(err) });
    sendError(res, new AppError(ErrorCodes.internal, `Internal error; quote error id ${errorId}.`, 500, { details: { error_id: errorId } }));
  };
}

/** JSON 404 for any route nobody handled; mounted after all routes. */
export function notFoundHandler(): RequestHandler {
  return (req, res) => {
    sendError(res, new AppError(ErrorCodes.notFound, `No route for ${req.method} ${req.path.slice(0, 200)}.`, 404));
  };
}
