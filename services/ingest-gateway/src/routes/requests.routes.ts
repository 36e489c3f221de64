import { Router } from 'express';
import { gatewayListRequestsQuerySchema, requestIdParamSchema, type z, type smsRequestDetailSchema, type smsRequestRecordSchema, type smsResponseRecordSchema } from '@twillow/contracts';
import type { SmsRequestRow, SmsResponseRow } from '@twillow/db';
import { ErrorCodes, NotFoundError, ValidationError } from '@twillow/errors';
import type { AppDeps } from '../app';
import { parseInput } from '../domain/validate';

/** GET /api/sms/requests and /api/sms/requests/{request_id}. */
export function requestsRoutes(deps: AppDeps): Router {
  const router = Router({ caseSensitive: true });

  router.get('/requests', async (req, res) => {
    const query = parseInput(gatewayListRequestsQuerySchema, req.query, 'query');
    const page = await deps.repository.list({ status: query.status, limit: query.limit, cursor: query.cursor });
    res.json({ requests: page.rows.map(toRecord), count: page.rows.length, limit: query.limit, next_cursor: page.nextCursor });
  });

  router.get('/requests/:request_id', async (req, res) => {
    const parsed = requestIdParamSchema.safeParse(req.params);
    if (!parsed.success) {
      throw new ValidationError(ErrorCodes.invalidRequestId, 'request_id must be a UUID such as 7f3c2a2d-0b1e-4c6a-9d2f-3e4b5c6d7e8f.', 'request_id');
    }
    const found = await deps.repository.findWithResponses(parsed.data.request_id.toLowerCase());
    if (!found) throw new NotFoundError(ErrorCodes.requestNotFound, `No SMS request with id ${parsed.data.request_id}.`);
    const detail: z.infer<typeof smsRequestDetailSchema> = { ...toRecord(found), responses: found.responses.map(toResponseRecord) };
    res.json(detail);
  });
  return router;
}

export function toRecord(row: SmsRequestRow): z.infer<typeof smsRequestRecordSchema> {
  return {
    id: row.id,
    phone: row.phone,
    phone_normalized: row.phoneNormalized,
    text: row.text,
    encoding: row.encoding,
    segments: row.segments,
    status: row.status,
    attempts: row.attempts,
    provider: row.provider,
    last_error: row.lastError,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function toResponseRecord(row: SmsResponseRow): z.infer<typeof smsResponseRecordSchema> {
  return {
    id: row.id,
    provider: row.provider,
    attempt: row.attempt,
    status_code: row.statusCode,
    body: row.body,
    latency_ms: row.latencyMs,
    outcome: row.outcome,
    error: row.error,
    created_at: row.createdAt.toISOString(),
  };
}
