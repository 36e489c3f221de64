import type { JobsOptions, Queue } from 'bullmq';
import type { SmsJobData } from '@twillow/contracts';

/** Options of every SMS job: the dispatcher decides about retries, BullMQ keeps the last 10,000. */
export const SMS_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { count: 10_000 },
  removeOnFail: { count: 10_000 },
};

/** BullMQ job name of an SMS send; the job id is the message id. */
export const SMS_JOB_NAME = 'send';

interface Pending {
  data: SmsJobData;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Adds SMS jobs to the queue, batching every add of one event-loop turn into one `addBulk` (one
 * Redis round trip instead of one per request). Job id = message id, so adding a message whose job
 * still exists is a no-op in BullMQ: re-adds (sweeper, retries) are idempotent.
 */
export class JobEnqueuer {
  private batch: Pending[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly queue: Queue<SmsJobData>,
    /** Most jobs in one addBulk. */
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once the job is in Redis; rejects when Redis refused or is unreachable. */
  add(data: SmsJobData): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ data, resolve, reject });
      if (this.batch.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Whether a job exists for this message in any state (waiting, active, delayed, completed, failed). */
  async exists(messageId: string): Promise<boolean> {
    return (await this.queue.getJob(messageId)) !== undefined;
  }

  /** Waits for every add already handed to Redis (used at shutdown). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    const done: Promise<void> = this.queue
      .addBulk(batch.map((p) => ({ name: SMS_JOB_NAME, data: p.data, opts: { ...SMS_JOB_OPTIONS, jobId: p.data.message_id } })))
      .then(
        () => batch.forEach((p) => p.resolve()),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }
}
