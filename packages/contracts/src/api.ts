import { z } from './zod';

export const providerIdSchema = z.enum(['provider1', 'provider2', 'provider3']).openapi('ProviderId');

export const messageStatusSchema = z.enum(['pending', 'processing', 'sent', 'failed']).openapi('MessageStatus');
export type MessageStatus = z.infer<typeof messageStatusSchema>;

export const encodingSchema = z.enum(['GSM-7', 'UCS-2']).openapi('Encoding');
export type Encoding = z.infer<typeof encodingSchema>;

/** The body of POST /api/sms/send, /api/sms/ and the direct provider sends. Unknown fields are refused. */
export const sendSmsRequestSchema = z
  .strictObject({
    phone: z
      .string({ error: (i) => (i.input === undefined ? 'phone is required' : 'phone must be a string') })
      .min(1, { error: 'phone must not be empty' })
      .max(32, { error: 'phone is too long' })
      .openapi({ example: '01921317475' }),
    text: z
      .string({ error: (i) => (i.input === undefined ? 'text is required' : 'text must be a string') })
      .min(1, { error: 'text must not be empty' })
      .max(10000, { error: 'text is too long' })
      .openapi({ example: 'Hello, this is a test SMS!' }),
  })
  .openapi('SendSmsRequest');
export type SendSmsRequest = z.infer<typeof sendSmsRequestSchema>;

export const sendSmsResponseSchema = z
  .object({
    success: z.literal(true),
    message_id: z.uuid(),
    message: z.string().openapi({ example: 'SMS queued for sending' }),
    provider: providerIdSchema.nullable(),
    queued: z.boolean(),
    status: messageStatusSchema,
    phone_normalized: z.string().openapi({ example: '+8801921317475' }),
    encoding: encodingSchema,
    segments: z.number().int(),
  })
  .openapi('SendSmsResponse');
export type SendSmsResponse = z.infer<typeof sendSmsResponseSchema>;

/** Every error the HTTP services return has this shape. */
export const errorResponseSchema = z
  .object({
    status: z.number().int().openapi({ example: 400 }),
    code: z.string().openapi({ example: 'SMS.INVALID_PHONE' }),
    message: z.string().openapi({ example: 'phone is not a valid phone number for region BD' }),
    field: z.string().optional().openapi({ example: 'phone' }),
    details: z.record(z.string(), z.unknown()).optional(),
    request_id: z.string().optional(),
  })
  .openapi('ErrorResponse');
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

export const smsResponseRecordSchema = z
  .object({
    id: z.number().int(),
    provider: z.string(),
    attempt: z.number().int(),
    status_code: z.number().int().nullable(),
    body: z.string().nullable(),
    latency_ms: z.number().int(),
    outcome: z.string(),
    error: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('SmsResponseRecord');

export const smsRequestRecordSchema = z
  .object({
    id: z.uuid(),
    phone: z.string(),
    phone_normalized: z.string(),
    text: z.string(),
    encoding: encodingSchema,
    segments: z.number().int(),
    status: messageStatusSchema,
    attempts: z.number().int(),
    provider: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('SmsRequestRecord');

export const smsRequestDetailSchema = smsRequestRecordSchema
  .extend({ responses: z.array(smsResponseRecordSchema) })
  .openapi('SmsRequestDetail');

export const listRequestsQuerySchema = z
  .strictObject({
    limit: z.coerce
      .number({ error: 'limit must be a number' })
      .int({ error: 'limit must be a whole number' })
      .min(1, { error: 'limit must be at least 1' })
      .max(500, { error: 'limit must be at most 500' })
      .default(50),
    status: messageStatusSchema.optional(),
    cursor: z.string().max(200).optional().openapi({ description: 'next_cursor of the previous page' }),
    offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
  })
  .openapi('ListRequestsQuery');

export const listRequestsResponseSchema = z
  .object({
    requests: z.array(smsRequestRecordSchema),
    count: z.number().int(),
    limit: z.number().int(),
    next_cursor: z.string().nullable(),
  })
  .openapi('ListRequestsResponse');

export const requestIdParamSchema = z.object({ request_id: z.uuid({ error: 'request_id must be a UUID' }) });
