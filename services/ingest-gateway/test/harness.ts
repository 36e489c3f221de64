/**
 * Starts the gateway in process on port 0 with a real Redis (unique prefix) and a real migrated
 * SQLite file, exactly as main.ts composes it, and offers counters for rows and queue jobs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import Redis from 'ioredis';
import winston from 'winston';
import { loadConfig } from '@twillow/config';
import { migrateDatabase } from '@twillow/db';
import { listen, type RunningServer } from '@twillow/http';
import { redisKeys, type RedisKeys } from '@twillow/redis';
import { tempDir, testRedisUrl, uniquePrefix, waitFor } from '@twillow/testing';
import { composeGateway, type Gateway } from '../src/compose';
import { gatewayConfig, gatewayEnvSchema } from '../src/config';

/** fetch's Response with a loosely typed json(): tests assert on the shape themselves. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> };

export interface TestGateway {
  url: string;
  gateway: Gateway;
  server: RunningServer;
  prefix: string;
  keys: RedisKeys;
  databaseUrl: string;
  /** A plain Redis client on the same server, for assertions and set-up. */
  redis: Redis;
  /** Every log line written so far (parsed JSON). */
  logs: Record<string, unknown>[];
  rowCount(): Promise<number>;
  jobCount(): Promise<number>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>;
  get(path: string): Promise<JsonResponse>;
  /** Closes the server, then the gateway; removes the temp dir unless keepFiles (then call removeFiles). */
  close(options?: { keepFiles?: boolean }): Promise<void>;
  removeFiles(): void;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Reuse a prefix / database (a second replica of the same deployment). */
  prefix?: string;
  databaseUrl?: string;
  redisUrl?: string;
}

export async function startGateway(options: StartOptions = {}): Promise<TestGateway> {
  const prefix = options.prefix ?? uniquePrefix('gw');
  const redisUrl = options.redisUrl ?? testRedisUrl();
  let cleanup = () => undefined as void;
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const tmp = tempDir('gateway-test');
    cleanup = tmp.cleanup;
    databaseUrl = `file:${path.join(tmp.dir, 'twillow.db')}`;
    await migrateDatabase(databaseUrl);
  }
  const env = {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    GATEWAY_PORT: '0',
    LOG_LEVEL: 'info',
    SWEEP_INTERVAL_MS: '60000',
    ...options.env,
  };
  const config = gatewayConfig(loadConfig(gatewayEnvSchema, env));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gateway = await composeGateway(config, { logTransports: [new winston.transports.Stream({ stream: sink })] });
  const server = await listen(gateway.app, 0, '127.0.0.1');
  gateway.start();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => undefined);
  const url = server.url;
  return {
    url,
    gateway,
    server,
    prefix,
    keys: redisKeys(prefix),
    databaseUrl,
    redis,
    logs,
    async rowCount() {
      const counts = await gateway.database.repository.countByStatus();
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async jobCount() {
      const counts = await gateway.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized', 'waiting-children');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    post: (p, body, headers = {}) =>
      fetch(`${url}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (p) => fetch(`${url}${p}`),
    async close(opts = {}) {
      await server.close();
      await gateway.close();
      redis.disconnect();
      if (!opts.keepFiles) cleanup();
    },
    removeFiles: () => cleanup(),
  };
}

/** A redis-server of the test's own on a free port, which the test may stop and start again. */
export class OwnRedis {
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  static async create(): Promise<OwnRedis> {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(p));
      });
    });
    return new OwnRedis(port);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await waitFor(async () => {
      await probe.connect().catch(() => undefined);
      return (await probe.ping()) === 'PONG';
    }, 10000, 50, `redis-server on port ${this.port}`);
    probe.disconnect();
  }

  /** Stops this redis-server (by its PID) and waits until it exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.child = undefined;
  }
}

export const VALID_PHONE = '01921317475';
export const VALID_E164 = '+8801921317475';
