import { AppError, ErrorCodes } from '@twillow/errors';

/**
 * A write hit a unique constraint. `field` is the repository field (e.g. `idempotencyKey`), so the
 * gateway can answer 409 for a reused Idempotency-Key without parsing driver messages.
 */
export class UniqueViolationError extends AppError {
  constructor(field: string, cause?: unknown) {
    super(ErrorCodes.dbUniqueViolation, `A request with this ${field} already exists.`, 409, { field, cause });
    this.name = 'UniqueViolationError';
  }
}

/** The database file is missing, or its migrations were never (or not all) applied. */
export class DatabaseNotMigratedError extends AppError {
  constructor(
    readonly databasePath: string,
    detail?: string,
  ) {
    super(
      ErrorCodes.dbNotMigrated,
      `Database at ${databasePath} is not migrated${detail ? ` (${detail})` : ''}. Run: npm run db:migrate`,
      503,
      { details: { databasePath } },
    );
    this.name = 'DatabaseNotMigratedError';
  }
}
