import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { RequestContext } from '@twillow/logger';

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Reuses a well-formed X-Request-Id or makes one, echoes it, and runs the request in its context. */
export function requestIdMiddleware(context: RequestContext): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && VALID_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    context.run({ requestId }, () => next());
  };
}
