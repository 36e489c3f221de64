import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import type Redis from 'ioredis';
import { logLevel, providerSettings } from '@twillow/config';
import { apiKeyAuth, describeListenError, listen, type RunningServer } from '@twillow/http';
import { createLogger, RequestContext, type Logger } from '@twillow/logger';
import { createMetrics, type Metrics } from '@twillow/metrics';
import { SharedRateLimiter } from '@twillow/rate-limit';
import { createRedis, redisKeys, waitForRedis } from '@twillow/redis';
import { monitorSettings, type HealthMonitorEnv, type HealthMonitorSettings } from './config';
import { dashboardAuth } from './dashboard/dashboard.auth';
import { dashboardSnapshot, QUEUE_STATES, type QueueCounts } from './dashboard/dashboard.data';
import { DashboardFeed } from './dashboard/dashboard.feed';
import { dashboardRouter } from './dashboard/dashboard.router';
import { HealthMonitor } from './health-monitor';
import { gaugeRefresher } from './monitor.metrics';
import { createApp } from './status.app';

/** The dashboard page: src/dashboard/ from source, dist/dashboard/ after the build copies it there. */
export const DASHBOARD_HTML = path.join(__dirname, 'dashboard', 'dashboard.html');

export interface ComposeOptions {
  version: string;
  /** Defaults to a JSON console logger at the configured level. */
  logger?: Logger;
  /** Defaults to hostname-pid-random, unique per process. */
  replicaId?: string;
  /** Adjusts the derived settings (tests shorten the read block, for example). */
  settings?: Partial<HealthMonitorSettings>;
  /** Time between two dashboard snapshots on the event stream, ms (default 1000). */
  dashboardIntervalMs?: number;
}

export interface HealthMonitorService {
  monitor: HealthMonitor;
  app: Express;
  logger: Logger;
  settings: HealthMonitorSettings;
  metrics: Metrics;
  /** Waits for Redis, starts the monitor, then listens on HEALTH_MONITOR_PORT. */
  start(): Promise<RunningServer>;
  /** Closes the server, stops the monitor (releasing the lease) and quits Redis. Idempotent. */
  close(): Promise<void>;
}

/** The composition root: builds every dependency from config; nothing runs until start(). */
export function compose(env: HealthMonitorEnv, options: ComposeOptions): HealthMonitorService {
  const context = new RequestContext();
  const logger =
    options.logger ?? createLogger({ service: 'health-monitor', version: options.version, level: logLevel(env), context });
  const settings = { ...monitorSettings(env), ...options.settings };
  const keys = redisKeys(env.REDIS_PREFIX);
  const replicaId = options.replicaId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = createRedis(env.REDIS_URL, 'command', logger, 'health-monitor');
  const blocking = createRedis(env.REDIS_URL, 'blocking', logger, 'health-monitor-stream');
  const subscriber = createRedis(env.REDIS_URL, 'blocking', logger, 'health-monitor-commands');
  const queueRedis = createRedis(env.REDIS_URL, 'command', logger, 'health-monitor-queue');
  const monitor = new HealthMonitor({ redis, blocking, subscriber, keys, settings, logger, replicaId });

  // Read-only views for operators: the limiter is only asked for snapshot() and distribution().
  const limiter = new SharedRateLimiter(
    { redis, keys, logger },
    {
      providers: providerSettings(env).map((p) => ({ id: p.id, ratePerSecond: p.ratePerSecond, weight: p.weight })),
      totalPerSecond: env.TOTAL_RATE_LIMIT,
      marginMs: env.RATE_LIMIT_MARGIN_MS,
    },
  );
  const queue = new Queue(keys.smsQueue, { connection: queueRedis, prefix: keys.bullPrefix });
  queue.on('error', (err) => logger.warn('queue connection error', { error: err.message }));
  const queueCounts = async (): Promise<QueueCounts> => {
    const raw = await queue.getJobCounts(...QUEUE_STATES);
    // BullMQ answers `waiting` with a `paused` count too; jobs of a paused queue are still waiting.
    const counts = Object.fromEntries(QUEUE_STATES.map((s) => [s, raw[s] ?? 0])) as QueueCounts;
    counts.waiting += raw.paused ?? 0;
    return counts;
  };

  const metrics = createMetrics('health-monitor');
  const snapshot = () => dashboardSnapshot({ monitor, limiter, queueCounts });
  const feed = new DashboardFeed(snapshot, logger, options.dashboardIntervalMs);
  const dashboard = dashboardRouter({
    auth: dashboardAuth({ adminKey: env.ADMIN_API_KEY, apiKeys: env.API_KEYS }),
    html: fs.readFileSync(DASHBOARD_HTML, 'utf8'),
    snapshot,
    feed,
  });
  const app = createApp({
    monitor,
    redis,
    keys,
    logger,
    context,
    routers: [dashboard],
    metrics: { metrics, refresh: gaugeRefresher({ metrics, monitor, queueCounts, logger }) },
    requireAdmin: apiKeyAuth({ apiKeys: env.API_KEYS, adminKey: env.ADMIN_API_KEY }).requireAdmin,
  });
  let server: RunningServer | undefined;
  let closing: Promise<void> | undefined;

  return {
    monitor,
    app,
    logger,
    settings,
    metrics,
    async start() {
      await waitForRedis(redis, env.REDIS_URL, 10_000);
      await monitor.start();
      try {
        server = await listen(app, env.HEALTH_MONITOR_PORT, env.HOST);
      } catch (err) {
        throw new Error(describeListenError(err, 'the health monitor', env.HEALTH_MONITOR_PORT, 'HEALTH_MONITOR_PORT'), { cause: err });
      }
      logger.info('health monitor started', { url: server.url, replica: replicaId });
      return server;
    },
    close() {
      return (closing ??= (async () => {
        // Open event streams would keep server.close() waiting forever.
        feed.close();
        await server?.close();
        await monitor.stop();
        limiter.close();
        await queue.close().catch(() => undefined);
        await Promise.all([quit(subscriber), quit(blocking), quit(queueRedis), quit(redis)]);
      })());
    },
  };
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}
