import type { SmsJobData } from '@twillow/contracts';
import type { SmsRequestRow } from '@twillow/db';
import type { Logger } from '@twillow/logger';

export interface EnqueueSweeperPorts {
  repository: { findStalePending(olderThan: Date, limit: number): Promise<SmsRequestRow[]> };
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
  /** Most rows looked at per sweep. */
  batch?: number;
}

/**
 * Makes sure no request stays pending without a job: a gateway that stored a row and then could not
 * add its job (Redis down, process killed between the two) leaves a pending row behind. Every
 * `intervalMs` the sweeper reads pending rows older than `afterMs` and adds the job of each one that
 * has no job in any state (waiting, active, delayed, completed or failed), so nothing runs twice.
 * The job id is the message id, so replicas sweeping at once cannot double-queue either.
 */
export class EnqueueSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;
  private readonly now: () => number;

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
          return 0;
        })
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass; resolves with the number of jobs it added. */
  async sweepOnce(): Promise<number> {
    const { repository, logger } = this.ports;
    const stale = await repository.findStalePending(new Date(this.now() - this.options.afterMs), this.options.batch ?? 500);
    if (stale.length === 0) return 0;
    const exists = await Promise.all(stale.map((row) => this.ports.jobExists(row.id)));
    const missing = stale.filter((_, i) => !exists[i]);
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
    if (missing.length > 0) {
      logger.warn('enqueue sweeper re-added jobs of pending requests that had none', { count: missing.length, message_ids: missing.slice(0, 20).map((r) => r.id) });
    }
    return missing.length;
  }

  /** Stops the timer and waits for a sweep in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
