import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from '@twillow/logger';

export type RedisRole =
  /** Commands on the request path: fail fast instead of queueing while Redis is away. */
  | 'command'
  /** BullMQ workers and subscribers: wait for Redis forever (BullMQ requires maxRetriesPerRequest null). */
  | 'blocking';

export interface CreateRedisOptions {
  /**
   * ioredis auto-pipelining: every command issued in one event-loop turn goes out in one socket
   * write (one syscall instead of one per command). For busy command connections; never for a
   * BullMQ worker or subscriber connection. Default false.
   */
  autoPipelining?: boolean;
}

/**
 * Creates an ioredis client with an error listener (an unhandled 'error' would crash the process)
 * and a reconnect strategy capped at 2 s. Callers own the client and must `quit()` it.
 */
export function createRedis(url: string, role: RedisRole, logger: Logger, name: string, extra: CreateRedisOptions = {}): Redis {
  const options: RedisOptions = {
    connectionName: name,
    enableAutoPipelining: extra.autoPipelining ?? false,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...(role === 'blocking'
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 }),
  };
  const client = new Redis(url, options);
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    // Reconnects retry every <= 2 s; log at most every 5 s so an outage does not flood the log.
    if (Date.now() - lastLogged > 5000) {
      lastLogged = Date.now();
      logger.warn(`Redis unreachable at ${redactUrl(url)} (${(err as NodeJS.ErrnoException).code ?? err.message}); retrying. Is redis-server running and REDIS_URL right?`, {
        connection: name,
      });
    }
  });
  return client;
}

/** Waits until the client is ready or `timeoutMs` passes; throws with a one-line cause. */
export async function waitForRedis(client: Redis, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (client.status === 'ready') {
      await client.ping();
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Cannot reach Redis at ${redactUrl(url)}. Start redis-server or set REDIS_URL to a running Redis.`);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
