/**
 * Errors with a stable string code (`DOMAIN.REASON`) and an HTTP status. Codes survive process
 * boundaries where `instanceof` does not, so clients and logs match on the code.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly extra: { field?: string; details?: Record<string, unknown>; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: extra.cause });
    this.name = 'AppError';
  }
  get field(): string | undefined {
    return this.extra.field;
  }
  get details(): Record<string, unknown> | undefined {
    return this.extra.details;
  }
}

export class ValidationError extends AppError {
  constructor(code: string, message: string, field?: string, details?: Record<string, unknown>) {
    super(code, message, 400, { field, details });
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 404);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 409, { details });
    this.name = 'ConflictError';
  }
}

export class UnavailableError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>, retryAfterSeconds?: number) {
    super(code, message, 503, {
      details,
      headers: retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(retryAfterSeconds) },
    });
    this.name = 'UnavailableError';
  }
}

/** The error codes used across services, in one list so docs and clients can rely on them. */
export const ErrorCodes = {
  invalidJson: 'REQUEST.INVALID_JSON',
  unsupportedMediaType: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  bodyTooLarge: 'REQUEST.BODY_TOO_LARGE',
  validation: 'REQUEST.VALIDATION_FAILED',
  unknownField: 'REQUEST.UNKNOWN_FIELD',
  notFound: 'REQUEST.NOT_FOUND',
  invalidPhone: 'SMS.INVALID_PHONE',
  emptyText: 'SMS.EMPTY_TEXT',
  invalidText: 'SMS.INVALID_TEXT',
  tooManySegments: 'SMS.TOO_MANY_SEGMENTS',
  requestNotFound: 'SMS.REQUEST_NOT_FOUND',
  invalidRequestId: 'SMS.INVALID_REQUEST_ID',
  idempotencyConflict: 'SMS.IDEMPOTENCY_CONFLICT',
  invalidIdempotencyKey: 'SMS.INVALID_IDEMPOTENCY_KEY',
  unknownProvider: 'PROVIDER.UNKNOWN',
  noProviderAvailable: 'PROVIDER.NONE_AVAILABLE',
  providerRejected: 'PROVIDER.REJECTED',
  providerFailed: 'PROVIDER.FAILED',
  providerRateLimited: 'RATE_LIMIT.PROVIDER_EXCEEDED',
  ingestRateLimited: 'RATE_LIMIT.INGEST_EXCEEDED',
  globalRateLimited: 'RATE_LIMIT.GLOBAL_EXCEEDED',
  keyRateLimited: 'RATE_LIMIT.KEY_EXCEEDED',
  redisUnavailable: 'DEPENDENCY.REDIS_UNAVAILABLE',
  databaseUnavailable: 'DEPENDENCY.DATABASE_UNAVAILABLE',
  dbUniqueViolation: 'DB.UNIQUE_VIOLATION',
  dbNotMigrated: 'DB.NOT_MIGRATED',
  unauthorized: 'AUTH.UNAUTHORIZED',
  forbidden: 'AUTH.FORBIDDEN',
  shuttingDown: 'SERVICE.SHUTTING_DOWN',
  internal: 'INTERNAL.ERROR',
} as const;
