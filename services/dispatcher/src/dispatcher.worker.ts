import { setMaxListeners } from 'node:events';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type Redis from 'ioredis';
import { smsJobDataSchema, type SmsJobData } from '@twillow/contracts';
import { ErrorCodes } from '@twillow/errors';
import type { Logger, RequestContext } from '@twillow/logger';
import type { RedisKeys } from '@twillow/redis';
import type { SendMessageOutcome, SendMessageUseCase } from './send-message.use-case';

/** A job that must not run again: the provider rejected it, its retries ran out, or its data is bad. */
export class MessageFailedError extends UnrecoverableError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MessageFailedError';
  }
}

export interface DispatcherWorkerOptions {
  /** Dedicated connection (role 'blocking'); BullMQ duplicates it for its blocking commands. */
  connection: Redis;
  keys: RedisKeys;
  logger: Logger;
  context: RequestContext;
  /** Jobs processed at once (DISPATCHER_CONCURRENCY). */
  concurrency: number;
  /**
   * Lock of an active job, in ms (DISPATCHER_LOCK_MS), renewed every half of it while the job runs.
   * Stalled jobs are looked for every half of it too, so a killed replica's jobs run again elsewhere
   * about 1-1.5x this after the kill.
   */
  lockMs: number;
  /** Delay before a job that hit an unexpected error (Redis or database away) runs again, in ms. */
  errorRetryDelayMs: number;
  /** Runs of one job that may end in an unexpected error before the job is failed. */
  maxErrorRuns?: number;
}

/** What a completed job returns (visible in Bull Board). */
export type DispatchJobResult =
  | { status: 'sent'; provider: string; provider_ref: string | null; attempts: number }
  | { status: 'already-done'; stored_status: string }
  | { status: 'missing-request' };

/**
 * The BullMQ side of dispatching. Expected job options from producers (the gateway):
 * `jobId` = message id, `attempts: 1` (this worker counts attempts itself and never relies on
 * BullMQ retries), no `backoff`; `removeOnComplete`/`removeOnFail` may be set, otherwise the
 * worker's defaults below apply.
 *
 * Outcome mapping: sent or already done -> completed; permanent rejection, spent retries or bad
 * data -> `UnrecoverableError` (failed, never retried by BullMQ); no provider, no room, a lease held
 * elsewhere or a shutdown -> `moveToDelayed` + `DelayedError` (the job waits in the delayed set,
 * not in this process, and any replica picks it up later).
 */
export class DispatcherWorker {
  readonly worker: Worker<SmsJobData, DispatchJobResult>;
  private readonly abort = new AbortController();
  private closing?: Promise<void>;

  constructor(
    private readonly useCase: SendMessageUseCase,
    private readonly options: DispatcherWorkerOptions,
  ) {
    const { keys, logger } = options;
    // Every job in progress listens on the one shutdown signal.
    setMaxListeners(options.concurrency + 10, this.abort.signal);
    this.worker = new Worker<SmsJobData, DispatchJobResult>(keys.smsQueue, (job, token) => this.process(job, token), {
      connection: options.connection,
      prefix: keys.bullPrefix,
      concurrency: options.concurrency,
      autorun: false,
      lockDuration: options.lockMs,
      stalledInterval: Math.max(500, Math.floor(options.lockMs / 2)),
      // A message whose dispatcher died several times must not be failed for it: the stored-state
      // check and the send lease make a rerun safe.
      maxStalledCount: 20,
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
    });
    this.worker.on('error', (err) => logger.error('queue worker error', { error: err.message }));
    this.worker.on('failed', (job, err) => {
      if (job && !(err instanceof DelayedError)) logger.warn('job failed', { message_id: job.id, reason: err.message });
    });
  }

  /** Starts taking jobs; resolves when the worker has stopped (after close()). */
  run(): Promise<void> {
    return this.worker.run();
  }

  isRunning(): boolean {
    return this.worker.isRunning() && !this.closing;
  }

  /**
   * Stops taking jobs and waits for the jobs in progress. Sends already on the wire finish and are
   * recorded; jobs still waiting for limiter room or a retry backoff are handed back to the queue
   * (delayed by 0 ms) so another replica continues them. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.worker.close();
      this.abort.abort(new Error('dispatcher shutting down'));
      await closed;
    })();
    return this.closing;
  }

  private async process(job: Job<SmsJobData, DispatchJobResult>, token?: string): Promise<DispatchJobResult> {
    const parsed = smsJobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ');
      throw new MessageFailedError(ErrorCodes.validation, `invalid job data (${what})`);
    }
    const data = parsed.data;
    return this.options.context.run({ messageId: data.message_id, requestId: data.request_id }, async () => {
      let outcome: SendMessageOutcome;
      try {
        outcome = await this.useCase.execute(data, this.abort.signal);
      } catch (err) {
        const runs = job.attemptsStarted;
        const max = this.options.maxErrorRuns ?? 10;
        this.options.logger.error('dispatch failed unexpectedly', { error: (err as Error).message, runs });
        if (runs >= max) throw new MessageFailedError(ErrorCodes.internal, `gave up after ${runs} runs: ${(err as Error).message}`);
        return this.delay(job, token, this.options.errorRetryDelayMs * Math.min(runs, 10));
      }
      switch (outcome.kind) {
        case 'sent':
          return { status: 'sent', provider: outcome.provider, provider_ref: outcome.providerRef, attempts: outcome.attempts };
        case 'already-done':
          return { status: 'already-done', stored_status: outcome.status };
        case 'missing-request':
          this.options.logger.warn('job without a stored request; dropped');
          return { status: 'missing-request' };
        case 'failed':
          throw new MessageFailedError(outcome.permanent ? ErrorCodes.providerRejected : ErrorCodes.providerFailed, outcome.reason);
        case 'retry-later':
          if (outcome.reason !== 'shutting-down' && this.options.logger.isDebugEnabled()) this.options.logger.debug('job delayed', { reason: outcome.reason, delay_ms: outcome.delayMs });
          return this.delay(job, token, outcome.delayMs);
      }
    });
  }

  private async delay(job: Job, token: string | undefined, delayMs: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.max(0, Math.round(delayMs)), token);
    throw new DelayedError();
  }
}
