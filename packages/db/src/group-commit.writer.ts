import { AppError, ErrorCodes } from '@twillow/errors';
import { UNIQUE_FIELDS } from './db-error.translate';
import { UniqueViolationError } from './db.errors';
import type { InsertPendingResult } from './prisma-sms.repository';
import type { NewSmsRequest } from './sms.repository';

/** What the writer needs from the repository (PrismaSmsRepository provides it). */
export interface PendingInserter {
  insertPending(requests: NewSmsRequest[]): Promise<InsertPendingResult>;
}

export interface GroupCommitWriterOptions {
  /** Most requests written in one transaction. Default 500. */
  maxBatch?: number;
}

export interface GroupCommitStats {
  /** Transactions written (one per batch). */
  batches: number;
  /** Requests stored. */
  rows: number;
  /** Largest batch so far, in requests. */
  largestBatch: number;
}

interface Waiting {
  request: NewSmsRequest;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the ingest hot path. Every request added in the same event-loop turn (and
 * every request added while a batch is being written) goes into the next batch of up to
 * `maxBatch`, stored in one transaction; each caller resolves after that commit, so a resolved
 * add() means the row is durably stored.
 *
 * Failures: a reused idempotency key rejects only that caller, with UniqueViolationError
 * (code DB.UNIQUE_VIOLATION, field `idempotencyKey`). Any other failure rejects every caller of
 * the batch with the error, except that a batch failing on a unique violation (a duplicate id) is
 * retried one request at a time so that only the offending caller fails.
 */
export class GroupCommitWriter {
  private readonly maxBatch: number;
  private waiting: Waiting[] = [];
  private drainRun: Promise<void> | null = null;
  private scheduled = false;
  private closing: Promise<void> | null = null;
  private readonly counters: GroupCommitStats = { batches: 0, rows: 0, largestBatch: 0 };

  constructor(
    private readonly inserter: PendingInserter,
    options: GroupCommitWriterOptions = {},
  ) {
    this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 500));
  }

  /** Resolves once `request` is committed; rejects with the batch's error. */
  add(request: NewSmsRequest): Promise<void> {
    if (this.closing) {
      return Promise.reject(new AppError(ErrorCodes.shuttingDown, 'The database writer is closed.', 503));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.schedule();
    });
  }

  get stats(): GroupCommitStats {
    return { ...this.counters };
  }

  /** Writes everything already added, then refuses new requests. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.drainRun || this.waiting.length > 0) {
        await (this.drainRun ?? this.drain());
      }
    })();
    return this.closing;
  }

  private schedule(): void {
    // While a batch is being written, the running drain picks new requests up when it commits.
    if (this.scheduled || this.drainRun) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every request parsed in the same
    // poll phase lands in one batch.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.drainRun) void this.drain();
    });
  }

  private drain(): Promise<void> {
    this.drainRun ??= (async () => {
      try {
        while (this.waiting.length > 0) {
          const batch = this.waiting.splice(0, this.maxBatch);
          await this.write(batch);
        }
      } finally {
        this.drainRun = null;
      }
    })();
    return this.drainRun;
  }

  private async write(batch: Waiting[]): Promise<void> {
    let result: InsertPendingResult;
    try {
      result = await this.inserter.insertPending(batch.map((w) => w.request));
    } catch (err) {
      if (err instanceof UniqueViolationError && batch.length > 1) {
        for (const one of batch) await this.write([one]);
        return;
      }
      for (const w of batch) w.reject(err);
      return;
    }
    const conflicts = new Set(result.idempotencyConflicts);
    const stored = batch.length - conflicts.size;
    this.counters.batches += 1;
    this.counters.rows += stored;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    for (const w of batch) {
      if (conflicts.has(w.request.id)) w.reject(new UniqueViolationError(UNIQUE_FIELDS.idempotencyKey));
      else w.resolve();
    }
  }
}
