import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from './zod';
import {
  errorResponseSchema,
  listRequestsResponseSchema,
  providerIdSchema,
  requestIdParamSchema,
  sendSmsRequestSchema,
  sendSmsResponseSchema,
  smsRequestDetailSchema,
} from './api';
import {
  directSendResponseSchema,
  distributionStatsResponseSchema,
  gatewayListRequestsQuerySchema,
  healthListResponseSchema,
  healthResetResponseSchema,
  providerHealthSchema,
  providerIdParamSchema,
  providerInfoSchema,
  providersResponseSchema,
  rateLimitsResponseSchema,
  resetResponseSchema,
  sendHeadersSchema,
  serviceHealthResponseSchema,
} from './gateway';

export interface OpenApiOptions {
  /** Version of the service that serves the document. */
  version: string;
  /** Base URLs listed under `servers`; default none (relative to the document). */
  servers?: string[];
}

/** The generated document (OpenAPI 3.1 object). */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

function error(description: string): ResponseConfig {
  return { description, content: json(errorResponseSchema) };
}

const rateLimitHeaders = z.object({
  'Retry-After': z.string().openapi({ description: 'Seconds until the window resets' }),
  RateLimit: z.string().openapi({ description: 'IETF draft-8 RateLimit header, e.g. "ingest"; r=0; t=1' }),
  'RateLimit-Policy': z.string().openapi({ description: 'IETF draft-8 policy, e.g. "ingest"; q=200; w=1' }),
});

const bodyErrors = {
  400: error('Invalid body or field (REQUEST.INVALID_JSON, REQUEST.VALIDATION_FAILED, REQUEST.UNKNOWN_FIELD, SMS.INVALID_PHONE, SMS.EMPTY_TEXT, SMS.TOO_MANY_SEGMENTS, SMS.INVALID_IDEMPOTENCY_KEY)'),
  413: error('Body larger than BODY_LIMIT_BYTES (REQUEST.BODY_TOO_LARGE)'),
  415: error('Content-Type is not application/json (REQUEST.UNSUPPORTED_MEDIA_TYPE)'),
};

/**
 * The ingest gateway's OpenAPI 3.1 document, generated from the same zod schemas that validate
 * requests, so the docs cannot drift from behaviour. Every path of the original guide is here.
 */
export function buildGatewayOpenApi(options: OpenApiOptions): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.register('ErrorResponse', errorResponseSchema);
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API_KEYS key (or X-API-Key header); resets and direct sends need ADMIN_API_KEY. Not required when API_KEYS is empty.',
  });
  // Every /api/sms path takes the key and can answer 401/403.
  const r = {
    registerPath: (route: Parameters<OpenAPIRegistry['registerPath']>[0]) =>
      registry.registerPath(
        route.path.startsWith('/api/sms')
          ? {
              ...route,
              security: [{ apiKey: [] }],
              responses: { ...route.responses, 401: error('Missing or invalid API key (AUTH.UNAUTHORIZED)'), 403: error('Needs the admin key (AUTH.FORBIDDEN)') },
            }
          : route,
      ),
  };

  r.registerPath({
    method: 'get',
    path: '/health',
    tags: ['service'],
    summary: 'Liveness and readiness: Redis and the database answer',
    responses: {
      200: { description: 'Healthy', content: json(serviceHealthResponseSchema) },
      503: { description: 'A dependency does not answer; `failing` names it', content: json(serviceHealthResponseSchema) },
    },
  });

  for (const path of ['/api/sms/', '/api/sms/send']) {
    r.registerPath({
      method: 'post',
      path,
      tags: ['sms'],
      summary: 'Queue an SMS: validate, rate-limit, store (pending) and enqueue',
      request: { headers: sendHeadersSchema, body: { required: true, content: json(sendSmsRequestSchema) } },
      responses: {
        200: {
          description: 'Stored and queued (also a replay of the same Idempotency-Key, with header Idempotent-Replayed: true)',
          content: json(sendSmsResponseSchema),
        },
        ...bodyErrors,
        409: error('Idempotency-Key reused with a different body (SMS.IDEMPOTENCY_CONFLICT)'),
        429: { description: 'Ingest limit spent (RATE_LIMIT.INGEST_EXCEEDED); details: current_count, limit, window_ms', headers: rateLimitHeaders, content: json(errorResponseSchema) },
        503: error('No provider available (PROVIDER.NONE_AVAILABLE) or Redis unreachable (DEPENDENCY.REDIS_UNAVAILABLE)'),
      },
    });
  }

  r.registerPath({
    method: 'get',
    path: '/api/sms/rate-limits',
    tags: ['operations'],
    summary: 'Per-provider, global and ingest window counts, limits and flags (read without consuming)',
    responses: { 200: { description: 'Current counts', content: json(rateLimitsResponseSchema) }, 503: error('Redis unreachable') },
  });

  r.registerPath({
    method: 'get',
    path: '/api/sms/health',
    tags: ['health'],
    summary: 'Health state of every provider, as the health monitor published it',
    responses: { 200: { description: 'States', content: json(healthListResponseSchema) } },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sms/health/{provider_id}',
    tags: ['health'],
    summary: 'Health state of one provider',
    request: { params: providerIdParamSchema },
    responses: { 200: { description: 'State', content: json(providerHealthSchema) }, 404: error('Unknown provider (PROVIDER.UNKNOWN)') },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sms/health/{provider_id}/reset',
    tags: ['health'],
    summary: "Ask the health monitor to clear the provider's window and mark it available",
    request: { params: providerIdParamSchema },
    responses: {
      200: { description: 'Reset published', content: json(healthResetResponseSchema) },
      404: error('Unknown provider (PROVIDER.UNKNOWN)'),
      503: error('Redis unreachable'),
    },
  });

  r.registerPath({
    method: 'get',
    path: '/api/sms/distribution-stats',
    tags: ['operations'],
    summary: 'Sends per provider since the last reset, shares and weights (smooth weighted round-robin)',
    responses: { 200: { description: 'Stats', content: json(distributionStatsResponseSchema) }, 503: error('Redis unreachable') },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sms/distribution-stats/reset',
    tags: ['operations'],
    summary: 'Reset the distribution counters and round-robin state',
    responses: { 200: { description: 'Reset', content: json(resetResponseSchema) }, 503: error('Redis unreachable') },
  });

  r.registerPath({
    method: 'get',
    path: '/api/sms/requests',
    tags: ['requests'],
    summary: 'Stored requests, newest first, optionally by status; page with next_cursor',
    request: { query: gatewayListRequestsQuerySchema },
    responses: { 200: { description: 'One page', content: json(listRequestsResponseSchema) }, 400: error('Bad limit, status or cursor') },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sms/requests/{request_id}',
    tags: ['requests'],
    summary: 'One request with every provider response',
    request: { params: requestIdParamSchema },
    responses: {
      200: { description: 'The request', content: json(smsRequestDetailSchema) },
      400: error('request_id is not a UUID (SMS.INVALID_REQUEST_ID)'),
      404: error('No such request (SMS.REQUEST_NOT_FOUND)'),
    },
  });

  r.registerPath({
    method: 'get',
    path: '/api/sms/providers',
    tags: ['providers'],
    summary: 'Configured providers: URL, limit, weight, health and current window count',
    responses: { 200: { description: 'Providers', content: json(providersResponseSchema) }, 503: error('Redis unreachable') },
  });

  for (const id of providerIdSchema.options) {
    r.registerPath({
      method: 'post',
      path: `/api/sms/${id}`,
      tags: ['providers'],
      summary: `Send through ${id} now (bypasses the queue; same limits; request and answer stored)`,
      request: { headers: sendHeadersSchema.pick({ 'x-request-id': true }), body: { required: true, content: json(sendSmsRequestSchema) } },
      responses: {
        200: { description: 'The provider accepted the message', content: json(directSendResponseSchema) },
        ...bodyErrors,
        429: { description: `No room at ${id} within DIRECT_SEND_MAX_WAIT_MS, or ${id} answered 429 (RATE_LIMIT.PROVIDER_EXCEEDED)`, headers: rateLimitHeaders.pick({ 'Retry-After': true }), content: json(errorResponseSchema) },
        502: error('The provider failed or rejected the message (PROVIDER.FAILED, PROVIDER.REJECTED); details carry its answer'),
        503: error(`${id} is unavailable (PROVIDER.NONE_AVAILABLE) or Redis unreachable`),
      },
    });
    r.registerPath({
      method: 'get',
      path: `/api/sms/${id}/status`,
      tags: ['providers'],
      summary: `URL, limit, weight, health and current window count of ${id}`,
      responses: { 200: { description: 'Status', content: json(providerInfoSchema) }, 503: error('Redis unreachable') },
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Twillow SMS gateway',
      version: options.version,
      description:
        'Queue SMS for sending through three upstream providers under shared rate limits. Every error has the ErrorResponse shape with a stable `code`.',
    },
    servers: (options.servers ?? []).map((url) => ({ url })),
  });
}
