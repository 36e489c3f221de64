import { UniqueViolationError } from './db.errors';

/** Repository field names of the unique columns, as UniqueViolationError reports them. */
export const UNIQUE_FIELDS = { id: 'id', idempotencyKey: 'idempotencyKey' } as const;

const COLUMN_TO_FIELD: Record<string, string> = { id: UNIQUE_FIELDS.id, idempotency_key: UNIQUE_FIELDS.idempotencyKey };

interface DriverErrorShape {
  code?: string;
  meta?: {
    target?: string[] | string;
    driverAdapterError?: { cause?: { kind?: string; constraint?: { fields?: string[] } } };
  };
}

/**
 * Prisma reports a unique violation as P2002 (model queries) or P2010 with the driver's cause (raw
 * queries). Both become UniqueViolationError with the repository field name; anything else is
 * returned unchanged.
 */
export function toDbError(err: unknown): unknown {
  const e = err as DriverErrorShape & { message?: string };
  // better-sqlite3's own SqliteError (the direct insert path)
  if (e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    const column = /constraint failed: ([\w.]+)/.exec(e.message ?? '')?.[1]?.split('.').pop() ?? 'unknown';
    return new UniqueViolationError(COLUMN_TO_FIELD[column] ?? column, err);
  }
  // Any other SqliteError (e.g. a foreign key on an unknown request): a plain Error of this realm.
  // better-sqlite3 builds its errors from the constructor registered when its native module first
  // loaded, which under jest can belong to another test file's realm (not instanceof Error here).
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) {
    return Object.assign(new Error(e.message ?? e.code, { cause: err }), { code: e.code });
  }
  const cause = e?.meta?.driverAdapterError?.cause;
  const isUnique = e?.code === 'P2002' || cause?.kind === 'UniqueConstraintViolation';
  if (!isUnique) return err;
  const target = cause?.constraint?.fields?.[0] ?? (Array.isArray(e.meta?.target) ? e.meta?.target[0] : e.meta?.target);
  const column = typeof target === 'string' ? target.split('.').pop()! : 'unknown';
  return new UniqueViolationError(COLUMN_TO_FIELD[column] ?? column, err);
}

/** Awaits `operation`, rethrowing a unique violation as UniqueViolationError. */
export async function translateDbError<T>(operation: PromiseLike<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw toDbError(err);
  }
}
