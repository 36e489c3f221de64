import express, { type RequestHandler } from 'express';
import { AppError, ErrorCodes } from '@twillow/errors';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * Middleware for routes that take a JSON body: 415 for any other content type, then express.json
 * with the byte limit (413 above it, 400 for malformed JSON; errorMiddleware maps both).
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const type = req.get('content-type');
    if (!type || !JSON_TYPE.test(type)) {
      return next(
        new AppError(
          ErrorCodes.unsupportedMediaType,
          `Content-Type must be application/json${type ? `, not ${type.slice(0, 80)}` : ' (the header is missing)'}.`,
          415,
          { field: 'Content-Type' },
        ),
      );
    }
    next();
  };
  return [requireJson, express.json({ limit: limitBytes, strict: true, type: () => true })];
}
