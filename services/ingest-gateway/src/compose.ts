import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import type winston from 'winston';
import { buildGatewayOpenApi, type SmsJobData } from '@twillow/contracts';
import { createDatabase, type Database } from '@twillow/db';
import { createLogger, RequestContext, type Logger } from '@twillow/logger';
import { createMetrics, type Metrics } from '@twillow/metrics';
import { ProviderClient } from '@twillow/providers';
import { SharedRateLimiter, type ProviderMode } from '@twillow/rate-limit';
import { createRedis, HealthStateView, OutcomePublisher, publishHealthReset, redisKeys, waitForRedis } from '@twillow/redis';
import { createApp } from './app';
import type { GatewayConfig } from './config';
import { FailoverIngestStore } from './data-access/ingest-limit.store';
import { JobEnqueuer } from './data-access/job.enqueuer';
import { DirectSendUseCase } from './domain/direct-send.use-case';
import { SendSmsUseCase } from './domain/send-sms.use-case';
import { EnqueueSweeper } from './enqueue.sweeper';
import { gatewayGaugeRefresher } from './gateway.metrics';

export const SERVICE_NAME = 'ingest-gateway';

/** How long start-up waits for Redis before serving anyway (sends answer 503 until it is back), in ms. */
const REDIS_STARTUP_WAIT_MS = 3000;

export interface ComposeOptions {
  /** Extra log transports (tests capture lines). */
  logTransports?: winston.transport[];
}

export interface Gateway {
  app: Express;
  logger: Logger;
  database: Database;
  queue: Queue<SmsJobData>;
  sweeper: EnqueueSweeper;
  ingestStore: FailoverIngestStore;
  metrics: Metrics;
  /** Starts background work (the sweeper). */
  start(): void;
  /**
   * Releases everything after the HTTP server closed: sweeper, pending job adds, queue, health
   * view, limiter, Redis clients, then the database (which flushes the group-commit writer). Idempotent.
   */
  close(): Promise<void>;
  /** Marks the gateway as shutting down (responses then carry Connection: close). */
  beginShutdown(): void;
}

/** The composition root: builds every dependency from config and wires the app. */
export async function composeGateway(config: GatewayConfig, options: ComposeOptions = {}): Promise<Gateway> {
  const { env } = config;
  const version = readVersion();
  const context = new RequestContext();
  const logger = createLogger({ service: SERVICE_NAME, version, level: config.logLevel, context, transports: options.logTransports });
  const keys = redisKeys(env.REDIS_PREFIX);
  warnAboutAccess(config, logger);
  const metrics = createMetrics(SERVICE_NAME);

  const database = await createDatabase({ url: env.DATABASE_URL });
  // Auto-pipelining: the ingest limiter runs one script per send (rate-limit-redis); the scripts of
  // every request of one event-loop turn then go out in one socket write instead of one write each
  // (a write syscall per request was the largest single cost of POST /api/sms/send in a CPU profile).
  const commands = createRedis(env.REDIS_URL, 'command', logger, `${SERVICE_NAME}:commands`, { autoPipelining: true });
  const queueRedis = createRedis(env.REDIS_URL, 'command', logger, `${SERVICE_NAME}:queue`);
  const subscriber = createRedis(env.REDIS_URL, 'blocking', logger, `${SERVICE_NAME}:subscriber`);
  const healthView = new HealthStateView(commands, keys, env.HEALTH_STATE_MAX_AGE_MS, logger);

  try {
    await waitForRedis(commands, env.REDIS_URL, REDIS_STARTUP_WAIT_MS);
  } catch (err) {
    logger.error(`${(err as Error).message} Serving anyway: sends answer 503 until Redis is back.`);
  }
  const viewStarted = healthView.start(subscriber).catch((err: unknown) => logger.warn('health view not started yet', { error: (err as Error)?.message }));
  await Promise.race([viewStarted, new Promise((r) => setTimeout(r, REDIS_STARTUP_WAIT_MS).unref())]);

  const queue = new Queue<SmsJobData>(keys.smsQueue, { connection: queueRedis, prefix: keys.bullPrefix });
  queue.on('error', (err) => logger.warn('queue connection error', { error: err.message }));
  const enqueuer = new JobEnqueuer(queue);

  const modes = (): Record<string, ProviderMode> =>
    Object.fromEntries(
      config.providers.map((p) => {
        const state = healthView.effectiveState(p.id);
        return [p.id, state === 'unavailable' ? 'excluded' : state === 'probing' ? 'probing' : 'available'];
      }),
    );
  const limiter = new SharedRateLimiter(
    { redis: commands, keys, logger },
    {
      providers: config.providers.map((p) => ({ id: p.id, ratePerSecond: p.ratePerSecond, weight: p.weight })),
      totalPerSecond: env.TOTAL_RATE_LIMIT,
      marginMs: env.RATE_LIMIT_MARGIN_MS,
      // A direct send leaves right after its grant; its answer comes within the request timeout.
      inFlightMs: env.PROVIDER_TIMEOUT_MS + 1000,
      currentModes: modes,
    },
  );
  const providerClient = new ProviderClient({ timeoutMs: env.PROVIDER_TIMEOUT_MS, maxSockets: 16 });
  const outcomes = new OutcomePublisher(commands, keys);
  const ingestStore = new FailoverIngestStore(commands, keys.ingestLimitPrefix, logger);
  // Per-key counters under their own prefix (P:ingest:key:<key id>), apart from the shared P:ingest:global.
  const keyLimitStore = config.keyLimit !== undefined ? new FailoverIngestStore(commands, `${keys.ingestLimitPrefix}key:`, logger) : undefined;

  const sendSms = new SendSmsUseCase({
    writer: database.writer,
    repository: database.repository,
    enqueue: (job) => enqueuer.add(job),
    queueReady: () => queueRedis.status === 'ready',
    anyProviderAvailable: () => config.providers.some((p) => healthView.effectiveState(p.id) !== 'unavailable'),
    logger,
  });
  const directSend = new DirectSendUseCase({
    writer: database.writer,
    repository: database.repository,
    send: { limiter, client: providerClient, providers: config.providers, outcomes, logger },
    modes,
    logger,
    maxWaitMs: env.DIRECT_SEND_MAX_WAIT_MS,
  });
  const sweeper = new EnqueueSweeper(
    { repository: database.repository, jobExists: (id) => enqueuer.exists(id), enqueue: (job) => enqueuer.add(job), logger },
    { intervalMs: env.SWEEP_INTERVAL_MS, afterMs: env.SWEEP_AFTER_MS, processingAfterMs: config.processingAfterMs },
  );

  let shuttingDown = false;
  const app = createApp({
    config,
    logger,
    context,
    sendSms,
    directSend,
    repository: database.repository,
    limiter,
    health: healthView,
    resetHealth: (provider) => publishHealthReset(commands, keys, provider as 'provider1'),
    ingestStore,
    keyLimitStore,
    checks: { redis: () => commands.ping(), database: () => database.repository.ping() },
    openapi: buildGatewayOpenApi({ version }),
    metrics: {
      metrics,
      refresh: gatewayGaugeRefresher({ metrics, queue, providers: config.providers.map((p) => p.id), health: healthView, logger }),
    },
    queues: [queue],
    isShuttingDown: () => shuttingDown,
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    logger,
    database,
    queue,
    sweeper,
    ingestStore,
    metrics,
    start: () => sweeper.start(),
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () =>
      (closing ??= (async () => {
        shuttingDown = true;
        await sweeper.stop();
        await enqueuer.drain();
        limiter.close();
        providerClient.close();
        ingestStore.shutdown();
        keyLimitStore?.shutdown();
        await healthView.stop();
        await queue.close().catch((err: unknown) => logger.warn('queue close failed', { error: (err as Error)?.message }));
        for (const client of [subscriber, commands, queueRedis]) {
          await client.quit().catch(() => client.disconnect());
        }
        await database.close();
      })()),
  };
}

/**
 * Says loudly how the API is protected: an open gateway (no API_KEYS) gets one WARN line that
 * names the port, so nobody exposes it by accident.
 */
function warnAboutAccess(config: GatewayConfig, logger: Logger): void {
  const { env } = config;
  if (env.API_KEYS.length === 0) {
    logger.warn(
      `SECURITY: API_KEYS is empty — the API is open to anyone who can reach port ${env.GATEWAY_PORT}. Set API_KEYS and ADMIN_API_KEY before exposing it.`,
    );
  } else if (!env.ADMIN_API_KEY) {
    logger.warn('ADMIN_API_KEY is not set: resets, direct sends, /metrics and /admin/queues answer 403/401 to every key.');
  }
}

function readVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
