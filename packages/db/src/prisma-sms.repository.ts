import { ErrorCodes, ValidationError } from '@twillow/errors';
import type BetterSqlite3 from 'better-sqlite3';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { toDbError, translateDbError } from './db-error.translate';
import { sqliteTimestamp } from './migrate-database';
import { SerialQueue } from './serial-queue';
import type {
  ListRequestsFilter,
  MessageStatus,
  NewSmsRequest,
  NewSmsResponse,
  SmsRepository,
  SmsRequestRow,
  SmsResponseRow,
  StaleCursor,
} from './sms.repository';

/** Upper bound of list(limit); larger limits are clamped. */
export const MAX_LIST_LIMIT = 1000;
/** Rows per INSERT statement; keeps the bound parameters (12 per row) far below SQLite's 32766. */
const ROWS_PER_STATEMENT = 1000;
const TERMINAL: MessageStatus[] = ['sent', 'failed'];
const STATUSES: MessageStatus[] = ['pending', 'processing', 'sent', 'failed'];

type RequestRecord = Prisma.SmsRequestGetPayload<object>;
type ResponseRecord = Prisma.SmsResponseGetPayload<object>;

/** Outcome of insertPending: requests whose idempotency key was already taken were not stored. */
export interface InsertPendingResult {
  /** ids of the given requests that were NOT inserted because their idempotencyKey exists. */
  idempotencyConflicts: string[];
}

/**
 * SmsRepository on Prisma. Every method returns plain objects of the contract types; Prisma's
 * types and errors stay inside (unique violations surface as UniqueViolationError, DB.UNIQUE_VIOLATION).
 * All operations of one client run one at a time through `queue` (see SerialQueue for why).
 */
export interface PrismaSmsRepositoryOptions {
  /** Shared by everything that uses this client's connection. Default: a queue of its own. */
  queue?: SerialQueue;
  /**
   * The client's own better-sqlite3 connection (see ConnectionCapturingAdapter). When given, the
   * hot paths (insertPending/createMany on ingest; findById, setStatus and recordAttempt on
   * dispatch) run prepared statements on it; otherwise they go through Prisma (same results).
   */
  connection?: BetterSqlite3.Database | null;
}

const INSERT_COLUMNS =
  '"id", "phone", "phone_normalized", "text", "encoding", "segments", "status", "attempts", "idempotency_key", "request_hash", "request_id", "created_at", "updated_at"';

export class PrismaSmsRepository implements SmsRepository {
  private closed: Promise<void> | null = null;
  private readonly queue: SerialQueue;
  private readonly insertDirect: DirectInsert | null;
  private readonly direct: DirectStatements | null;
  /** recordAttempt calls waiting for the next group commit (fast path only). */
  private readonly attempts: PendingAttempt[] = [];
  private readonly attemptCounters = { batches: 0, rows: 0, largestBatch: 0 };

  constructor(
    private readonly prisma: PrismaClient,
    options: PrismaSmsRepositoryOptions = {},
  ) {
    this.queue = options.queue ?? new SerialQueue();
    this.insertDirect = options.connection ? directInserter(options.connection) : null;
    this.direct = options.connection ? directStatements(options.connection) : null;
  }

  /**
   * True when the hot paths (inserts, findById, setStatus, recordAttempt) use the connection's
   * prepared statements (the fast path).
   */
  get usesDirectStatements(): boolean {
    return this.insertDirect !== null && this.direct !== null;
  }

  /**
   * Inserts pending requests in one transaction, all or nothing: a reused idempotency key (or id)
   * stores none of them and rejects with UniqueViolationError.
   */
  async createMany(requests: NewSmsRequest[]): Promise<void> {
    await this.insert(requests, 'fail');
  }

  /**
   * The ingest hot path (used by GroupCommitWriter): one multi-row INSERT per batch (chunks of
   * ROWS_PER_STATEMENT inside one transaction). A request whose idempotency key already exists
   * (in the table or earlier in the same batch) is skipped and reported instead of failing the
   * batch, so one client's reused key never fails the other clients' requests.
   * Raw SQL because Prisma's createMany cannot skip-and-report conflicts on SQLite and costs
   * several times more per row; the statement is portable (same text on PostgreSQL).
   */
  async insertPending(requests: NewSmsRequest[]): Promise<InsertPendingResult> {
    return { idempotencyConflicts: await this.insert(requests, 'skip') };
  }

  /** Returns the ids skipped for a taken idempotency key (always none with 'fail'). */
  private async insert(requests: NewSmsRequest[], onConflict: 'skip' | 'fail'): Promise<string[]> {
    if (requests.length === 0) return [];
    const direct = this.insertDirect;
    if (direct) {
      // Synchronous from BEGIN to COMMIT, and queued behind any Prisma transaction in flight.
      return this.queue.run(async () => {
        try {
          return direct(requests, sqliteTimestamp(new Date()), onConflict);
        } catch (err) {
          throw toDbError(err);
        }
      });
    }
    const conflictClause = Prisma.raw(onConflict === 'skip' ? 'ON CONFLICT ("idempotency_key") DO NOTHING' : '');
    const now = new Date();
    const statements: Prisma.PrismaPromise<{ id: string }[]>[] = [];
    for (let i = 0; i < requests.length; i += ROWS_PER_STATEMENT) {
      const values = requests.slice(i, i + ROWS_PER_STATEMENT).map(
        (r) =>
          Prisma.sql`(${r.id}, ${r.phone}, ${r.phoneNormalized}, ${r.text}, ${r.encoding}, ${r.segments}, 'pending', 0, ${
            r.idempotencyKey ?? null
          }, ${r.requestHash ?? null}, ${r.requestId ?? null}, ${now}, ${now})`,
      );
      statements.push(
        this.prisma.$queryRaw<{ id: string }[]>`INSERT INTO "sms_requests" (${Prisma.raw(INSERT_COLUMNS)}) VALUES ${Prisma.join(
          values,
        )} ${conflictClause} RETURNING "id"`,
      );
    }
    const results = await this.queue.run(() =>
      translateDbError(statements.length === 1 ? statements[0] : this.prisma.$transaction(statements).then((r) => r.flat())),
    );
    if (results.length === requests.length) return [];
    const inserted = new Set(results.map((r) => r.id));
    return requests.filter((r) => !inserted.has(r.id)).map((r) => r.id);
  }

  async findById(id: string): Promise<SmsRequestRow | null> {
    const direct = this.direct;
    if (direct) return this.queue.run(async () => direct.findById(id));
    const row = await this.queue.run(() => this.prisma.smsRequest.findUnique({ where: { id } }));
    return row ? toRequestRow(row) : null;
  }

  async findWithResponses(id: string): Promise<(SmsRequestRow & { responses: SmsResponseRow[] }) | null> {
    const row = await this.queue.run(() =>
      this.prisma.smsRequest.findUnique({ where: { id }, include: { responses: { orderBy: { id: 'asc' } } } }),
    );
    return row ? { ...toRequestRow(row), responses: row.responses.map(toResponseRow) } : null;
  }

  async findByIdempotencyKey(key: string): Promise<SmsRequestRow | null> {
    const row = await this.queue.run(() => this.prisma.smsRequest.findUnique({ where: { idempotencyKey: key } }));
    return row ? toRequestRow(row) : null;
  }

  /** Newest first (createdAt desc, id desc); `limit` is clamped to 1..MAX_LIST_LIMIT. */
  async list(filter: ListRequestsFilter): Promise<{ rows: SmsRequestRow[]; nextCursor: string | null }> {
    const limit = Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(Number(filter.limit) || 1)));
    const after = filter.cursor ? decodeCursor(filter.cursor) : null;
    const where: Prisma.SmsRequestWhereInput = {};
    if (filter.status) where.status = filter.status;
    if (after) {
      where.OR = [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }];
    }
    const found = await this.queue.run(() =>
      this.prisma.smsRequest.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit + 1 }),
    );
    const rows = found.slice(0, limit).map(toRequestRow);
    const last = rows.at(-1);
    return { rows, nextCursor: found.length > limit && last ? encodeCursor(last) : null };
  }

  /**
   * Stores the provider answer and updates the request in one transaction. A request that is
   * already terminal (sent/failed) keeps its state: a late failure after `sent` is stored as a
   * response but changes nothing on the request.
   */
  async recordAttempt(
    response: NewSmsResponse,
    update: { status: MessageStatus; provider?: string | null; lastError?: string | null },
  ): Promise<void> {
    if (this.direct) {
      // Group commit: every attempt recorded in the same event-loop turn goes into one transaction
      // (see flushAttempts); the caller resolves after that commit.
      return new Promise<void>((resolve, reject) => {
        this.attempts.push({ response, update, resolve, reject });
        if (this.attempts.length === 1) setImmediate(() => this.flushAttempts());
      });
    }
    const data: Prisma.SmsRequestUpdateManyMutationInput = { status: update.status, attempts: { increment: 1 } };
    if (update.provider !== undefined) data.provider = update.provider;
    if (update.lastError !== undefined) data.lastError = update.lastError;
    await this.queue.run(() =>
      translateDbError(
        this.prisma.$transaction([
          this.prisma.smsResponse.create({
            data: {
              requestId: response.requestId,
              provider: response.provider,
              attempt: response.attempt,
              statusCode: response.statusCode,
              body: response.body,
              latencyMs: Math.round(response.latencyMs),
              outcome: response.outcome,
              error: response.error,
            },
          }),
          this.prisma.smsRequest.updateMany({ where: { id: response.requestId, status: { notIn: TERMINAL } }, data }),
        ]),
      ),
    );
  }

  async setStatus(id: string, status: MessageStatus, lastError?: string | null): Promise<boolean> {
    const direct = this.direct;
    if (direct) return this.queue.run(async () => direct.setStatus(id, status, lastError, sqliteTimestamp(new Date())));
    const data: Prisma.SmsRequestUpdateManyMutationInput = { status };
    if (lastError !== undefined) data.lastError = lastError;
    const { count } = await this.queue.run(() =>
      this.prisma.smsRequest.updateMany({ where: { id, status: { notIn: TERMINAL } }, data }),
    );
    return count > 0;
  }

  async findStalePending(olderThan: Date, limit: number, after?: StaleCursor): Promise<SmsRequestRow[]> {
    const where: Prisma.SmsRequestWhereInput = { status: 'pending', createdAt: { lt: olderThan } };
    if (after) where.OR = [{ createdAt: { gt: after.at } }, { createdAt: after.at, id: { gt: after.id } }];
    const rows = await this.queue.run(() =>
      this.prisma.smsRequest.findMany({
        where,
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: Math.max(1, Math.floor(limit)),
      }),
    );
    return rows.map(toRequestRow);
  }

  /** Requests in `processing` whose last change is older than `updatedBefore`, oldest first: a send died midway. */
  async findStaleProcessing(updatedBefore: Date, limit: number, after?: StaleCursor): Promise<SmsRequestRow[]> {
    const where: Prisma.SmsRequestWhereInput = { status: 'processing', updatedAt: { lt: updatedBefore } };
    if (after) where.OR = [{ updatedAt: { gt: after.at } }, { updatedAt: after.at, id: { gt: after.id } }];
    const rows = await this.queue.run(() =>
      this.prisma.smsRequest.findMany({
        where,
        orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
        take: Math.max(1, Math.floor(limit)),
      }),
    );
    return rows.map(toRequestRow);
  }

  async countByStatus(): Promise<Record<MessageStatus, number>> {
    const groups = await this.queue.run(() =>
      this.prisma.smsRequest.groupBy({ by: ['status'], _count: { _all: true } }),
    );
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
    for (const g of groups) if (g.status in counts) counts[g.status as MessageStatus] = g._count._all;
    return counts;
  }

  async ping(): Promise<void> {
    await this.queue.run(() => this.prisma.$queryRaw`SELECT 1`);
  }

  /** Attempt batches written on the fast path (group commit of recordAttempt). */
  get attemptStats(): { batches: number; rows: number; largestBatch: number } {
    return { ...this.attemptCounters };
  }

  /**
   * Writes every attempt recorded so far in one IMMEDIATE transaction, each in a savepoint of its
   * own: one that fails (an unknown request) rejects only its caller; a failing transaction
   * (e.g. the lock not granted within busy_timeout) rejects them all. Synchronous from BEGIN to
   * COMMIT and queued behind any Prisma transaction in flight; one prepared INSERT + UPDATE per
   * attempt, about 20x less CPU than the Prisma path, and one commit for the whole batch.
   */
  private flushAttempts(): void {
    const batch = this.attempts.splice(0);
    const direct = this.direct;
    if (batch.length === 0 || !direct) return;
    void this.queue.run(async () => {
      let errors: (unknown | null)[];
      try {
        errors = direct.recordAttempts(batch, sqliteTimestamp(new Date()));
      } catch (err) {
        for (const a of batch) a.reject(toDbError(err));
        return;
      }
      this.attemptCounters.batches += 1;
      this.attemptCounters.rows += errors.filter((e) => e === null).length;
      this.attemptCounters.largestBatch = Math.max(this.attemptCounters.largestBatch, batch.length);
      batch.forEach((a, i) => (errors[i] === null ? a.resolve() : a.reject(toDbError(errors[i]))));
    });
  }

  /** Writes pending attempts, then disconnects the client after the queued operations settle; idempotent. */
  close(): Promise<void> {
    this.flushAttempts();
    this.closed ??= this.queue.idle().then(() => this.prisma.$disconnect());
    return this.closed;
  }
}

/**
 * One prepared single-row INSERT run per request inside one IMMEDIATE transaction; returns the ids
 * skipped because their idempotency key exists. Same SQL and timestamp format as the Prisma path.
 */
type DirectInsert = (requests: NewSmsRequest[], now: string, onConflict: 'skip' | 'fail') => string[];

function directInserter(connection: BetterSqlite3.Database): DirectInsert {
  const sql = `INSERT INTO "sms_requests" (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)`;
  const statements = {
    skip: connection.prepare(`${sql} ON CONFLICT ("idempotency_key") DO NOTHING`),
    fail: connection.prepare(sql),
  };
  // A thrown error (e.g. a unique violation with 'fail') rolls the whole transaction back.
  const insertAll = connection.transaction((requests: NewSmsRequest[], now: string, onConflict: 'skip' | 'fail'): string[] => {
    const insert = statements[onConflict];
    const conflicts: string[] = [];
    for (const r of requests) {
      const { changes } = insert.run(
        r.id,
        r.phone,
        r.phoneNormalized,
        r.text,
        r.encoding,
        r.segments,
        r.idempotencyKey ?? null,
        r.requestHash ?? null,
        r.requestId ?? null,
        now,
        now,
      );
      if (changes === 0) conflicts.push(r.id);
    }
    return conflicts;
  });
  return (requests, now, onConflict) => insertAll.immediate(requests, now, onConflict);
}

type AttemptUpdate = { status: MessageStatus; provider?: string | null; lastError?: string | null };

/** The dispatch hot path as prepared statements; same SQL semantics and timestamps as the Prisma path. */
interface DirectStatements {
  findById(id: string): SmsRequestRow | null;
  setStatus(id: string, status: MessageStatus, lastError: string | null | undefined, now: string): boolean;
  /** One transaction; per attempt null (stored) or the error that rolled back its savepoint. */
  recordAttempts(attempts: { response: NewSmsResponse; update: AttemptUpdate }[], now: string): (unknown | null)[];
}

interface PendingAttempt {
  response: NewSmsResponse;
  update: AttemptUpdate;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface RawRequestRow {
  id: string;
  phone: string;
  phone_normalized: string;
  text: string;
  encoding: string;
  segments: number;
  status: string;
  attempts: number;
  provider: string | null;
  last_error: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  request_id: string | null;
  created_at: string;
  updated_at: string;
}

// Terminal rows are never changed (same rule as the Prisma path's `status notIn TERMINAL`).
const NOT_TERMINAL = `"status" NOT IN ('sent', 'failed')`;

function directStatements(connection: BetterSqlite3.Database): DirectStatements {
  // The adapter turns safeIntegers on for the whole connection; our integers are small.
  const select = connection.prepare<[string], RawRequestRow>('SELECT * FROM "sms_requests" WHERE "id" = ?').safeIntegers(false);
  // A flag per optional column: 1 = set it to the given value, 0 = keep the stored one.
  const update = connection.prepare(
    `UPDATE "sms_requests" SET "status" = ?, "attempts" = "attempts" + ?,
       "provider" = CASE WHEN ? THEN ? ELSE "provider" END,
       "last_error" = CASE WHEN ? THEN ? ELSE "last_error" END,
       "updated_at" = ?
     WHERE "id" = ? AND ${NOT_TERMINAL}`,
  );
  const insertResponse = connection.prepare(
    `INSERT INTO "sms_responses" ("request_id", "provider", "attempt", "status_code", "body", "latency_ms", "outcome", "error", "created_at")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const flag = (v: unknown) => (v === undefined ? 0 : 1);
  // Called inside recordAll's transaction, a transaction function runs in a SAVEPOINT: a throw
  // rolls back only this attempt.
  const record = connection.transaction((response: NewSmsResponse, u: AttemptUpdate, now: string) => {
    // The INSERT first: an unknown request fails on the foreign key and rolls everything back.
    insertResponse.run(
      response.requestId,
      response.provider,
      response.attempt,
      response.statusCode,
      response.body,
      Math.round(response.latencyMs),
      response.outcome,
      response.error,
      now,
    );
    update.run(u.status, 1, flag(u.provider), u.provider ?? null, flag(u.lastError), u.lastError ?? null, now, response.requestId);
  });
  const recordAll = connection.transaction((attempts: { response: NewSmsResponse; update: AttemptUpdate }[], now: string) =>
    attempts.map(({ response, update: u }) => {
      try {
        record(response, u, now);
        return null;
      } catch (err) {
        return err;
      }
    }),
  );
  return {
    findById(id) {
      const row = select.get(id);
      return row ? fromRawRow(row) : null;
    },
    setStatus(id, status, lastError, now) {
      return update.run(status, 0, 0, null, flag(lastError), lastError ?? null, now, id).changes > 0;
    },
    recordAttempts(attempts, now) {
      return recordAll.immediate(attempts, now);
    },
  };
}

function fromRawRow(r: RawRequestRow): SmsRequestRow {
  return {
    id: r.id,
    phone: r.phone,
    phoneNormalized: r.phone_normalized,
    text: r.text,
    encoding: r.encoding as SmsRequestRow['encoding'],
    segments: r.segments,
    status: r.status as MessageStatus,
    attempts: r.attempts,
    provider: r.provider,
    lastError: r.last_error,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    requestId: r.request_id,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toRequestRow(r: RequestRecord): SmsRequestRow {
  return {
    id: r.id,
    phone: r.phone,
    phoneNormalized: r.phoneNormalized,
    text: r.text,
    encoding: r.encoding as SmsRequestRow['encoding'],
    segments: r.segments,
    status: r.status as MessageStatus,
    attempts: r.attempts,
    provider: r.provider,
    lastError: r.lastError,
    idempotencyKey: r.idempotencyKey,
    requestHash: r.requestHash,
    requestId: r.requestId,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function toResponseRow(r: ResponseRecord): SmsResponseRow {
  return {
    id: r.id,
    requestId: r.requestId,
    provider: r.provider,
    attempt: r.attempt,
    statusCode: r.statusCode,
    body: r.body,
    latencyMs: r.latencyMs,
    outcome: r.outcome,
    error: r.error,
    createdAt: r.createdAt,
  };
}

function encodeCursor(row: SmsRequestRow): string {
  return Buffer.from(JSON.stringify([row.createdAt.getTime(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const invalid = () => new ValidationError(ErrorCodes.validation, 'The cursor is not one this API returned.', 'cursor');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw Object.assign(invalid(), { cause: err });
  }
  if (!Array.isArray(parsed)) throw invalid();
  const [ms, id] = parsed as unknown[];
  if (typeof ms !== 'number' || !Number.isFinite(ms) || typeof id !== 'string') throw invalid();
  return { createdAt: new Date(ms), id };
}
