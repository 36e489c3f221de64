import type { SmsJobData } from '@twillow/contracts';
import type { SmsRepository, SmsRequestRow, StaleCursor } from '@twillow/db';
import type { Logger } from '@twillow/logger';

export interface EnqueueSweeperPorts {
  repository: Pick<SmsRepository, 'findStalePending' | 'findStaleProcessing'>;
  /** Whether a job exists for the message in any state. */
  jobExists(messageId: string): Promise<boolean>;
  enqueue(job: SmsJobData): Promise<void>;
  logger: Logger;
  now?: () => number;
}

export interface EnqueueSweeperOptions {
  /** How often to look, in ms (SWEEP_INTERVAL_MS). */
  intervalMs: number;
  /** Only rows pending for longer than this, in ms (SWEEP_AFTER_MS). */
  afterMs: number;
  /**
   * Only rows `processing` without a change for longer than this, in ms: longer than any live send
   * can take (DIRECT_SEND_MAX_WAIT_MS + PROVIDER_TIMEOUT_MS + SWEEP_AFTER_MS, see config.ts).
   */
  processingAfterMs: number;
  /** Most rows looked at per sweep and per status. */
  batch?: number;
}

/** What one pass did. */
export interface SweepResult {
  /** Jobs added for pending rows that had none. */
  pending: number;
  /** Jobs added for processing rows that had none (an interrupted send). */
  processing: number;
}

/**
 * Makes sure no request stays pending or processing without a job.
 *
 * Pending: a gateway that stored a row and then could not add its job (Redis down, process killed
 * between the two) leaves a pending row behind. Processing: a direct send (POST /api/sms/providerN)
 * whose gateway died mid-send, or a dispatcher job that vanished, leaves a processing row that
 * nothing will touch again. Every `intervalMs` the sweeper reads a page of each and adds the job of
 * every row that has no job in any state (waiting, active, delayed, completed or failed), so nothing
 * runs twice. The job id is the message id, so replicas sweeping at once cannot double-queue either,
 * and the dispatcher reads the stored status before sending (a row that became sent or failed
 * meanwhile is never sent again).
 *
 * Each status keeps a cursor (oldest first, (time, id)): a pass continues where the last one
 * stopped and wraps around at the end, so during a backlog of thousands of stale pending rows that
 * do have jobs (the dispatcher is just behind), an orphan further back is still reached within
 * ceil(rows / batch) passes instead of never.
 */
export class EnqueueSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<SweepResult>;
  private stopped = false;
  private readonly now: () => number;
  private pendingCursor?: StaleCursor;
  private processingCursor?: StaleCursor;

  constructor(
    private readonly ports: EnqueueSweeperPorts,
    private readonly options: EnqueueSweeperOptions,
  ) {
    this.now = ports.now ?? Date.now;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweepOnce()
        .catch((err: unknown) => {
          this.ports.logger.warn('enqueue sweep failed; will retry', { error: (err as Error)?.message });
          return { pending: 0, processing: 0 };
        })
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass over a page of each status; resolves with the number of jobs it added. */
  async sweepOnce(): Promise<SweepResult> {
    const { repository, logger } = this.ports;
    const batch = this.options.batch ?? 500;
    const now = this.now();

    const pendingRows = await repository.findStalePending(new Date(now - this.options.afterMs), batch, this.pendingCursor);
    this.pendingCursor = nextCursor(pendingRows, batch, (r) => r.createdAt);
    const pending = await this.enqueueOrphans(pendingRows);
    if (pending.length > 0) {
      logger.warn('enqueue sweeper re-added jobs of pending requests that had none', { count: pending.length, message_ids: pending.slice(0, 20) });
    }

    const processingRows = await repository.findStaleProcessing(new Date(now - this.options.processingAfterMs), batch, this.processingCursor);
    this.processingCursor = nextCursor(processingRows, batch, (r) => r.updatedAt);
    const processing = await this.enqueueOrphans(processingRows);
    if (processing.length > 0) {
      logger.warn(
        'enqueue sweeper re-queued processing requests that had no job (a send was interrupted, e.g. a gateway died during a direct send); ' +
          'the provider may already have the message, so these are delivered at least once',
        { count: processing.length, message_ids: processing.slice(0, 20) },
      );
    }
    return { pending: pending.length, processing: processing.length };
  }

  /** Stops the timer and waits for a sweep in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Adds the job of every row that has none; resolves with their ids. */
  private async enqueueOrphans(rows: SmsRequestRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const exists = await Promise.all(rows.map((row) => this.ports.jobExists(row.id)));
    const missing = rows.filter((_, i) => !exists[i]);
    await Promise.all(
      missing.map((row) =>
        this.ports.enqueue({
          message_id: row.id,
          phone: row.phoneNormalized,
          text: row.text,
          ...(row.requestId ? { request_id: row.requestId } : {}),
          enqueued_at: this.now(),
        }),
      ),
    );
    return missing.map((r) => r.id);
  }
}

/** A full page: continue after its last row next time; a short page reached the end: start over. */
function nextCursor(rows: SmsRequestRow[], batch: number, at: (row: SmsRequestRow) => Date): StaleCursor | undefined {
  const last = rows.at(-1);
  return rows.length >= batch && last ? { at: at(last), id: last.id } : undefined;
}
