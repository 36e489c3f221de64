/**
 * Test harness for the dispatcher integration tests: three provider mocks over real HTTP, a
 * migrated SQLite file in a temp dir, a unique Redis prefix, and a producer that enqueues the way
 * the gateway does (pending row first, then the job with jobId = message id, attempts 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { loadConfig } from '@twillow/config';
import type { SmsJobData } from '@twillow/contracts';
import { createDatabase, migrateDatabase, type Database } from '@twillow/db';
import { createLogger } from '@twillow/logger';
import { startProviderMock, type MockStats } from '@twillow/provider-mock';
import { createRedis, redisKeys, type RedisKeys } from '@twillow/redis';
import { tempDir, testRedisUrl, uniquePrefix, waitFor } from '@twillow/testing';
import { composeDispatcher, type Dispatcher } from '../src/compose';
import { dispatcherConfig, dispatcherEnvSchema, type DispatcherConfig } from '../src/config';

export const quietLogger = () => createLogger({ service: 'dispatcher-test', version: 'test', level: 'error' });

/** The job options the gateway uses; the dispatcher counts attempts itself. */
export const GATEWAY_JOB_OPTIONS = { attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86400 } } as const;

export interface MockSetup {
  rateLimit?: number;
  mode?: 'up' | 'down' | 'flaky' | 'slow' | 'timeout' | 'reject';
  latencyMs?: number;
}

export interface HarnessOptions {
  /**
   * Run each mock as its own process (`mocks/provider/src/main.ts`) instead of in the test's
   * process. Tests that judge timing at the provider need it: in-process mocks stamp arrivals on
   * the test's event loop, which enqueueing 1,500 jobs or polling SQLite blocks for tens of ms, so
   * their stamps would show gaps and bunches the dispatchers never made.
   */
  mockProcesses?: boolean;
}

/** A provider mock of the harness, in this process or its own. */
export interface HarnessMock {
  /** Base URL (admin endpoints). */
  url: string;
  /** Send URL (PROVIDERn_URL). */
  sendUrl: string;
  close(): Promise<void>;
}

export interface Harness {
  prefix: string;
  keys: RedisKeys;
  redisUrl: string;
  databaseUrl: string;
  mocks: HarnessMock[];
  /** Arrival times (epoch ms, from each mock's monotonic clock) of every request at each mock, in order. */
  arrivals(): Promise<number[][]>;
  db: Database;
  sqlite: BetterSqlite3.Database;
  redis: Redis;
  queue: Queue<SmsJobData>;
  env(overrides?: Record<string, string>): Record<string, string>;
  config(overrides?: Record<string, string>): DispatcherConfig;
  dispatcher(overrides?: Record<string, string>): Promise<Dispatcher>;
  /** A real dispatcher process (`node --conditions=development --require tsx/cjs src/main.ts`), resolved once it took jobs. */
  spawnDispatcher(overrides?: Record<string, string>): Promise<DispatcherProcess>;
  enqueue(count: number): Promise<string[]>;
  waitForTerminal(ids: string[], timeoutMs: number): Promise<void>;
  /** Requests by status: all of them, or only `ids`. */
  statuses(ids?: string[]): Record<string, number>;
  /** Zeroes every mock's counters, accepted ids and arrivals (POST /admin/reset). */
  resetMocks(): Promise<void>;
  stats(): Promise<MockStats[]>;
  close(): Promise<void>;
}

export async function startHarness(mockSetups: MockSetup[] = [{}, {}, {}], options: HarnessOptions = {}): Promise<Harness> {
  const prefix = uniquePrefix('disp');
  const keys = redisKeys(prefix);
  const redisUrl = testRedisUrl();
  const tmp = tempDir('dispatcher-test');
  const databaseUrl = `file:${path.join(tmp.dir, 'twillow.db')}`;
  await migrateDatabase(databaseUrl);
  const db = await createDatabase({ url: databaseUrl });
  const sqlite = new BetterSqlite3(path.join(tmp.dir, 'twillow.db'), { readonly: true });
  const mocks = await Promise.all(
    mockSetups.map((m, i) => {
      const setup = { providerId: `provider${i + 1}`, rateLimit: m.rateLimit ?? 50, mode: m.mode ?? 'up', latencyMs: m.latencyMs ?? 0 };
      return options.mockProcesses ? spawnMockProcess(setup) : startProviderMock({ ...setup, logLevel: 'error' });
    }),
  );
  const logger = quietLogger();
  const redis = createRedis(redisUrl, 'blocking', logger, 'dispatcher-test');
  const queue = new Queue<SmsJobData>(keys.smsQueue, { connection: redis, prefix: keys.bullPrefix });
  const dispatchers: Dispatcher[] = [];
  const children: DispatcherProcess[] = [];

  const env = (overrides: Record<string, string> = {}) => ({
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    PROVIDER1_URL: mocks[0].sendUrl,
    PROVIDER2_URL: mocks[1].sendUrl,
    PROVIDER3_URL: mocks[2].sendUrl,
    DISPATCHER_PORT: '0',
    PROVIDER_TIMEOUT_MS: '10000',
    RETRY_BASE_DELAY_MS: '20',
    NO_PROVIDER_DELAY_MS: '200',
    DISPATCHER_LOCK_MS: '5000',
    LOG_LEVEL: 'error',
    ...overrides,
  });
  const config = (overrides: Record<string, string> = {}) => dispatcherConfig(loadConfig(dispatcherEnvSchema, env(overrides)));

  return {
    prefix,
    keys,
    redisUrl,
    databaseUrl,
    mocks,
    async arrivals() {
      return Promise.all(
        mocks.map(async (m) => {
          const body = (await (await fetch(`${m.url}/admin/arrivals`)).json()) as { time_origin_ms: number; times_ms: number[] };
          return body.times_ms.map((t) => body.time_origin_ms + t);
        }),
      );
    },
    db,
    sqlite,
    redis,
    queue,
    env,
    config,
    async dispatcher(overrides = {}) {
      const d = composeDispatcher(config(overrides), { logger });
      dispatchers.push(d);
      await d.start();
      return d;
    },
    async spawnDispatcher(overrides = {}) {
      const child = await spawnDispatcherProcess(env({ LOG_LEVEL: 'info', ...overrides }));
      children.push(child);
      return child;
    },
    async enqueue(count) {
      const ids = Array.from({ length: count }, () => randomUUID());
      const phones = ids.map((_, i) => `+8801921${String(100000 + i).slice(-6)}`);
      await db.repository.createMany(
        ids.map((id, i) => ({ id, phone: phones[i], phoneNormalized: phones[i], text: `hello ${i}`, encoding: 'GSM-7' as const, segments: 1 })),
      );
      const now = Date.now();
      await queue.addBulk(
        ids.map((id, i) => ({
          name: 'send',
          data: { message_id: id, phone: phones[i], text: `hello ${i}`, request_id: `req-${i}`, enqueued_at: now },
          opts: { jobId: id, ...GATEWAY_JOB_OPTIONS },
        })),
      );
      return ids;
    },
    async waitForTerminal(ids, timeoutMs) {
      await waitFor(
        () => {
          const placeholders = ids.map(() => '?').join(',');
          const open = sqlite.prepare(`SELECT count(*) AS n FROM sms_requests WHERE status IN ('pending','processing') AND id IN (${placeholders})`).get(...ids) as { n: number };
          return open.n === 0;
        },
        timeoutMs,
        100,
        'every message to be sent or failed',
      );
    },
    statuses(ids) {
      const where = ids ? `WHERE id IN (${ids.map(() => '?').join(',')})` : '';
      const rows = sqlite.prepare(`SELECT status, count(*) AS n FROM sms_requests ${where} GROUP BY status`).all(...(ids ?? [])) as { status: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    async resetMocks() {
      await Promise.all(
        mocks.map(async (m) => {
          const res = await fetch(`${m.url}/admin/reset`, { method: 'POST' });
          if (!res.ok) throw new Error(`mock reset failed: ${res.status}`);
        }),
      );
    },
    async stats() {
      return Promise.all(mocks.map(async (m) => (await (await fetch(`${m.url}/admin/stats`)).json()) as MockStats));
    },
    async close() {
      await Promise.all(dispatchers.map((d) => d.stop()));
      await Promise.all(children.map((c) => c.stop()));
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      const leftovers = await redis.keys(`*${prefix}*`);
      if (leftovers.length > 0) await redis.del(...leftovers);
      await redis.quit();
      await Promise.all(mocks.map((m) => m.close()));
      sqlite.close();
      await db.close();
      tmp.cleanup();
    },
  };
}

export async function setMode(mock: HarnessMock, mode: MockSetup['mode']): Promise<void> {
  const res = await fetch(`${mock.url}/admin/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  if (!res.ok) throw new Error(`mock mode change failed: ${res.status}`);
}

/** Most entries of sorted `times` (ms) inside any window of `windowMs`, and the span first..last. */
export function maxInWindow(times: number[], windowMs = 1000): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A service of this repo running as its own process, started from its TypeScript entry point. */
export interface ServiceProcess<Ready> {
  child: ChildProcess;
  /** What the readiness check returned (a port, a URL). */
  ready: Ready;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s); resolves with the exit code. Idempotent. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node --conditions=development --require tsx/cjs <entry>` with only `env` (plus PATH and
 * HOME) and resolves once `ready` finds what it waits for in one of the process's JSON log lines.
 */
export async function spawnService<Ready>(
  entry: string,
  env: Record<string, string>,
  label: string,
  ready: (line: Record<string, unknown>) => Ready | undefined,
): Promise<ServiceProcess<Ready>> {
  const child = spawn(process.execPath, ['--conditions=development', '--require', 'tsx/cjs', entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopping: Promise<number | null> | undefined;
  const found = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}: ${out.slice(-2000)}`);
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const value = ready(JSON.parse(line) as Record<string, unknown>);
        if (value !== undefined) return { value };
      }
      return undefined;
    },
    60000,
    50,
    `the ${label} process to start`,
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${out.slice(-2000)}`);
  });
  return {
    child,
    ready: found.value,
    output: () => out,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })()),
  };
}

/** A dispatcher process; `ready` is the port of its /health. */
export type DispatcherProcess = ServiceProcess<number>;

export function spawnDispatcherProcess(env: Record<string, string>): Promise<DispatcherProcess> {
  return spawnService('services/dispatcher/src/main.ts', env, 'dispatcher', (l) => (l.message === 'dispatcher started' ? (l.port as number) : undefined));
}

/** One provider mock in its own process, on a free port. */
async function spawnMockProcess(setup: { providerId: string; rateLimit: number; mode: string; latencyMs: number }): Promise<HarnessMock> {
  const service = await spawnService(
    'mocks/provider/src/main.ts',
    {
      MOCK_PROVIDER_ID: setup.providerId,
      MOCK_PORT: '0',
      MOCK_RATE_LIMIT: String(setup.rateLimit),
      MOCK_MODE: setup.mode,
      MOCK_LATENCY_MS: String(setup.latencyMs),
      LOG_LEVEL: 'info',
    },
    `mock ${setup.providerId}`,
    (l) => (l.message === 'provider mock listening' ? (l.url as string) : undefined),
  );
  const sendUrl = service.ready;
  return {
    url: new URL(sendUrl).origin,
    sendUrl,
    close: async () => {
      await service.stop();
    },
  };
}
