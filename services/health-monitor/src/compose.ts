import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Express } from 'express';
import type Redis from 'ioredis';
import { logLevel } from '@twillow/config';
import { describeListenError, listen, type RunningServer } from '@twillow/http';
import { createLogger, RequestContext, type Logger } from '@twillow/logger';
import { createRedis, redisKeys, waitForRedis } from '@twillow/redis';
import { monitorSettings, type HealthMonitorEnv, type HealthMonitorSettings } from './config';
import { HealthMonitor } from './health-monitor';
import { createApp } from './status.app';

export interface ComposeOptions {
  version: string;
  /** Defaults to a JSON console logger at the configured level. */
  logger?: Logger;
  /** Defaults to hostname-pid-random, unique per process. */
  replicaId?: string;
  /** Adjusts the derived settings (tests shorten the read block, for example). */
  settings?: Partial<HealthMonitorSettings>;
}

export interface HealthMonitorService {
  monitor: HealthMonitor;
  app: Express;
  logger: Logger;
  settings: HealthMonitorSettings;
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
  const monitor = new HealthMonitor({ redis, blocking, subscriber, keys, settings, logger, replicaId });
  const app = createApp({ monitor, redis, keys, logger, context });
  let server: RunningServer | undefined;
  let closing: Promise<void> | undefined;

  return {
    monitor,
    app,
    logger,
    settings,
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
        await server?.close();
        await monitor.stop();
        await Promise.all([quit(subscriber), quit(blocking), quit(redis)]);
      })());
    },
  };
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}
