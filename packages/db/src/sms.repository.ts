/**
 * The repository contract the services code against. Plain objects in, plain objects out
 * (no Prisma types leak). Implemented by PrismaSmsRepository in this package.
 */
export type MessageStatus = 'pending' | 'processing' | 'sent' | 'failed';

export interface NewSmsRequest {
  id: string;
  phone: string;
  phoneNormalized: string;
  text: string;
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  idempotencyKey?: string | null;
  /** sha256 of the canonical request body, compared when an Idempotency-Key is reused. */
  requestHash?: string | null;
  requestId?: string | null;
}

export interface SmsRequestRow extends Required<NewSmsRequest> {
  status: MessageStatus;
  attempts: number;
  provider: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SmsResponseRow {
  id: number;
  requestId: string;
  provider: string;
  attempt: number;
  statusCode: number | null;
  body: string | null;
  latencyMs: number;
  /** success | throttled | server_error | timeout | connection_error | rejected */
  outcome: string;
  error: string | null;
  createdAt: Date;
}

export interface NewSmsResponse {
  requestId: string;
  provider: string;
  attempt: number;
  statusCode: number | null;
  body: string | null;
  latencyMs: number;
  outcome: string;
  error: string | null;
}

export interface ListRequestsFilter {
  status?: MessageStatus;
  limit: number;
  /** Opaque cursor from a previous page (newest first). */
  cursor?: string;
}

/**
 * A position in an oldest-first scan: `at` is the row's createdAt (findStalePending) or updatedAt
 * (findStaleProcessing), `id` breaks ties. Rows strictly after it are returned.
 */
export interface StaleCursor {
  at: Date;
  id: string;
}

export interface SmsRepository {
  /** Inserts pending requests; the group-commit writer calls it with every request of one tick. */
  createMany(requests: NewSmsRequest[]): Promise<void>;
  findById(id: string): Promise<SmsRequestRow | null>;
  findWithResponses(id: string): Promise<(SmsRequestRow & { responses: SmsResponseRow[] }) | null>;
  findByIdempotencyKey(key: string): Promise<SmsRequestRow | null>;
  list(filter: ListRequestsFilter): Promise<{ rows: SmsRequestRow[]; nextCursor: string | null }>;
  /** Stores one provider answer and updates the request (status, attempts, provider, lastError) in one transaction. */
  recordAttempt(
    response: NewSmsResponse,
    update: { status: MessageStatus; provider?: string | null; lastError?: string | null },
  ): Promise<void>;
  /** Moves pending|processing -> status; returns false if the request is already terminal (sent/failed). */
  setStatus(id: string, status: MessageStatus, lastError?: string | null): Promise<boolean>;
  /**
   * Pending requests created before `olderThan`, oldest first (createdAt, id), for the enqueue
   * sweeper; with `after`, only rows past that position, so a sweep can page through a backlog.
   */
  findStalePending(olderThan: Date, limit: number, after?: StaleCursor): Promise<SmsRequestRow[]>;
  /**
   * Requests in `processing` whose last change is older than `updatedBefore`, oldest first
   * (updatedAt, id); with `after`, only rows past that position. For recovery of interrupted sends.
   */
  findStaleProcessing(updatedBefore: Date, limit: number, after?: StaleCursor): Promise<SmsRequestRow[]>;
  countByStatus(): Promise<Record<MessageStatus, number>>;
  /** Cheap liveness query for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
