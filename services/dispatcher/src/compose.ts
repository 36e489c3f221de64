import { SharedRateLimiter, type ProviderMode } from '@twillow/rate-limit';
import { createDatabase, type Database } from '@twillow/db';
import { apiKeyAuth, listen, type RunningServer } from '@twillow/http';
import { createMetrics } from '@twillow/metrics';
import { Queue } from 'bullmq';
import { createLogger, RequestContext, type Logger } from '@twillow/logger';
import { ProviderClient } from '@twillow/providers';
import { createRedis, HealthStateView, OutcomePublisher, redisKeys, waitForRedis } from '@twillow/redis';
import type { DispatcherConfig } from './config';
import { DispatcherWorker } from './dispatcher.worker';
import { countFinishedMessages, gaugeRefresher, meteredLimiter, meteredOutcomes } from './dispatch.metrics';
import { createDispatcherApp } from './health.server';
import { SendMessageUseCase, type SendMessagePolicy } from './send-message.use-case';

export const SERVICE_NAME = 'dispatcher';
export const SERVICE_VERSION = '0.1.0';

/** 429 answers one message may collect before it is failed. */
const MAX_THROTTLED_PER_MESSAGE = 20;
/** Longest in-process wait for limiter room before the job is delayed instead, in ms. */
const MAX_SLOT_WAIT_MS = 5000;
/** A job whose request row is missing is retried for this long (a producer that enqueues before its commit lands), in ms. */
const MISSING_REQUEST_GRACE_MS = 30_000;
/** Life of a send intent ({P:rl}:inflight:<id>), in ms: longer than any delay between two runs of one job. */
const SEND_INTENT_TTL_MS = 24 * 3600_000;
/** How long a message with an unconfirmed attempt waits for that attempt's provider before going elsewhere (at-least-once), in ms. */
const SAME_PROVIDER_WAIT_MS = 60_000;
/** Resends to the provider of an unconfirmed attempt that may end unconfirmed again before the message goes elsewhere. */
const MAX_SAME_PROVIDER_RESENDS = 1;
/**
 * Most slots one limiter script call grants to this process's waiting jobs. Every granted job
 * starts its request in the same tick, so a large batch leaves as a burst; small batches keep each
 * send right behind its grant and the provider's load even. (Bursts cannot break the limit: a slot
 * is only reused one window after the answer of the send that held it.)
 */
const LIMITER_MAX_BATCH = 4;
/**
 * A grant older than this when its request is about to leave is given back and taken again, in ms.
 * The limiter holds a send as in flight for LIMITER_IN_FLIGHT_SLACK_MS + MAX_GRANT_AGE_MS + the
 * request timeout after its grant; giving back stale grants keeps every send inside that hold.
 */
const MAX_GRANT_AGE_MS = 250;
/** Added to the longest grant-to-answer time (stale-grant age plus request timeout) for the limiter's in-flight hold, in ms. */
const LIMITER_IN_FLIGHT_SLACK_MS = 1000;
/** How long to wait for Redis at start, in ms. */
const REDIS_READY_TIMEOUT_MS = 10_000;

export interface Dispatcher {
  /** Connects, starts following provider health, takes jobs and listens for /health. */
  start(): Promise<{ port: number }>;
  /** Stops in order: /health, the worker (in-flight sends finish), health view, limiter, provider client, database, Redis. Idempotent. */
  stop(): Promise<void>;
  readonly logger: Logger;
}

export interface ComposeOptions {
  logger?: Logger;
}

/** The composition root: builds every dependency from the config. Nothing runs until start(). */
export function composeDispatcher(config: DispatcherConfig, options: ComposeOptions = {}): Dispatcher {
  const context = new RequestContext();
  const logger = options.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.logLevel, context });
  const keys = redisKeys(config.redisPrefix);

  let db: Database | undefined;
  let server: RunningServer | undefined;
  let dispatcherWorker: DispatcherWorker | undefined;
  let limiter: SharedRateLimiter | undefined;
  let view: HealthStateView | undefined;
  let client: ProviderClient | undefined;
  const connections: ReturnType<typeof createRedis>[] = [];
  const metrics = createMetrics(SERVICE_NAME);
  let depthQueue: Queue | undefined;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<{ port: number }> {
    // Commands wait through a Redis blip instead of failing jobs, so 'blocking' for all three.
    // Auto-pipelining: the lease, intent, limiter and outcome commands of all jobs in one turn go
    // out in one write (per-command socket writes were the largest single cost in a CPU profile).
    const commands = createRedis(config.redisUrl, 'blocking', logger, 'dispatcher-commands', { autoPipelining: true });
    const subscriber = createRedis(config.redisUrl, 'blocking', logger, 'dispatcher-health-sub');
    const queueConnection = createRedis(config.redisUrl, 'blocking', logger, 'dispatcher-worker');
    connections.push(commands, subscriber, queueConnection);
    await waitForRedis(commands, config.redisUrl, REDIS_READY_TIMEOUT_MS);

    // NORMAL (WAL): commits survive a crash of this process, not a power loss. Losing an attempt
    // record to a power loss means at worst one resend, which providers dedupe by message_id; FULL
    // would fsync twice per message (about 6 ms each here) on better-sqlite3's synchronous
    // connection, blocking the event loop and capping dispatch far below the rate limits.
    db = await createDatabase({ url: config.databaseUrl, synchronous: 'NORMAL' });
    const repository = db.repository;

    view = new HealthStateView(commands, keys, config.healthStateMaxAgeMs, logger);
    await view.start(subscriber);
    const healthView = view;
    const modeOf = (p: string): ProviderMode => {
      const s = healthView.effectiveState(p);
      return s === 'unavailable' ? 'excluded' : s;
    };
    limiter = new SharedRateLimiter(
      { redis: commands, keys, logger },
      {
        providers: config.providers.map((p) => ({ id: p.id, ratePerSecond: p.ratePerSecond, weight: p.weight })),
        totalPerSecond: config.totalRatePerSecond,
        marginMs: config.rateLimitMarginMs,
        inFlightMs: MAX_GRANT_AGE_MS + config.providerTimeoutMs + LIMITER_IN_FLIGHT_SLACK_MS,
        maxBatch: LIMITER_MAX_BATCH,
        currentModes: () => Object.fromEntries(config.providers.map((p) => [p.id, modeOf(p.id)])),
      },
    );
    client = new ProviderClient({ timeoutMs: config.providerTimeoutMs, maxSockets: config.concurrency });

    const policy: SendMessagePolicy = {
      maxAttempts: config.maxAttempts,
      retryBaseDelayMs: config.retryBaseDelayMs,
      maxThrottled: MAX_THROTTLED_PER_MESSAGE,
      // Covers the longest slot wait, one send and its recording: the lease taken (or renewed) before
      // the wait never needs a renewal between the grant and the send, where every round trip
      // delays the send past the limiter's margin. A killed dispatcher's messages wait this long.
      leaseMs: MAX_SLOT_WAIT_MS + config.providerTimeoutMs + 3000,
      leaseHeadroomMs: MAX_SLOT_WAIT_MS + 1000,
      noProviderDelayMs: config.noProviderDelayMs,
      maxSlotWaitMs: MAX_SLOT_WAIT_MS,
      missingRequestGraceMs: MISSING_REQUEST_GRACE_MS,
      intentTtlMs: SEND_INTENT_TTL_MS,
      maxGrantAgeMs: MAX_GRANT_AGE_MS,
      sameProviderWaitMs: SAME_PROVIDER_WAIT_MS,
      maxSameProviderResends: MAX_SAME_PROVIDER_RESENDS,
    };
    const useCase = new SendMessageUseCase(
      {
        repository,
        redis: commands,
        keys,
        limiter: meteredLimiter(limiter, metrics),
        client,
        providers: config.providers,
        outcomes: meteredOutcomes(new OutcomePublisher(commands, keys), metrics),
        health: healthView,
        logger,
      },
      policy,
    );
    const worker = new DispatcherWorker(useCase, {
      connection: queueConnection,
      keys,
      logger,
      context,
      concurrency: config.concurrency,
      lockMs: config.lockMs,
      errorRetryDelayMs: config.noProviderDelayMs,
    });
    dispatcherWorker = worker;
    countFinishedMessages(worker.worker, metrics);
    worker.run().catch((err: unknown) => logger.error('queue worker stopped with an error', { error: (err as Error).message }));
    await worker.worker.waitUntilReady();

    depthQueue = new Queue(keys.smsQueue, { connection: commands, prefix: keys.bullPrefix });
    const app = createDispatcherApp({
      checks: {
        redis: async () => void (await commands.ping()),
        database: () => repository.ping(),
        worker: () => worker.isRunning(),
      },
      logger,
      context,
      metrics,
      refreshMetrics: gaugeRefresher({ metrics, queue: depthQueue, health: healthView, providers: config.providers }),
      requireAdmin: apiKeyAuth({ apiKeys: config.apiKeys, adminKey: config.adminKey }).requireAdmin,
    });
    server = await listen(app, config.port, config.host);
    logger.info('dispatcher started', {
      port: server.port,
      concurrency: config.concurrency,
      providers: config.providers.map((p) => `${p.id}=${p.ratePerSecond}/s w${p.weight}`).join(' '),
      total_rate_limit: config.totalRatePerSecond,
    });
    return { port: server.port };
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      const step = async (what: string, fn: () => Promise<unknown> | unknown) => {
        try {
          await fn();
        } catch (err) {
          logger.warn(`shutdown: ${what} failed`, { error: (err as Error).message });
        }
      };
      await step('health server', () => server?.close());
      await step('worker', () => dispatcherWorker?.close());
      await step('health view', () => view?.stop());
      await step('queue-depth queue', () => depthQueue?.close());
      await step('rate limiter', () => limiter?.close());
      await step('provider client', () => client?.close());
      await step('database', () => db?.close());
      for (const c of connections) await step('redis', () => c.quit());
      logger.info('dispatcher stopped');
    })();
    return stopping;
  }

  return { start, stop, logger };
}
