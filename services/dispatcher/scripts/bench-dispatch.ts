/**
 * Dispatch throughput with the rate limits lifted and an instant provider mock, next to raw BullMQ
 * processing on the same Redis in the same run:
 *   - dispatcher: the composed dispatcher (lease, stored-state check, limiter, got send, SQLite
 *     record, outcome event) with DISPATCHER_CONCURRENCY jobs at once;
 *   - raw-http:   a bare BullMQ Worker doing one keep-alive HTTP POST (node:http) per job to the same
 *     mock, same concurrency;
 *   - noop:       a bare BullMQ Worker whose processor returns at once.
 * Each figure is the median of `runs` runs; jobs/s is measured from the first to the last completed
 * job. The mock runs in its own process so it does not share the measured event loop.
 *
 *   node --conditions=development --require tsx/cjs services/dispatcher/scripts/bench-dispatch.ts [jobs] [runs]
 *
 * Not a test: figures depend on the machine (and on whatever else runs on it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { loadConfig } from '@twillow/config';
import type { SmsJobData } from '@twillow/contracts';
import { createDatabase, migrateDatabase } from '@twillow/db';
import { createLogger } from '@twillow/logger';
import { createRedis, redisKeys } from '@twillow/redis';
import { tempDir, testRedisUrl, uniquePrefix, waitFor } from '@twillow/testing';
import { composeDispatcher } from '../src/compose';
import { dispatcherConfig, dispatcherEnvSchema } from '../src/config';

export interface BenchOptions {
  /** Jobs per run. Default 2000. */
  jobs?: number;
  /** Runs per variant; the median is reported. Default 3. */
  runs?: number;
  /** Jobs processed at once by every variant. Default 50 (DISPATCHER_CONCURRENCY's default). */
  concurrency?: number;
  redisUrl?: string;
}

export interface BenchFigures {
  jobs: number;
  runs: number;
  concurrency: number;
  /** Median jobs/s per variant, and every run's figure. */
  dispatcher: { median: number; all: number[] };
  rawHttp: { median: number; all: number[] };
  noop: { median: number; all: number[] };
  /** dispatcher / rawHttp (the design's target: >= 0.70). */
  ratioToRawHttp: number;
  /** dispatcher / noop. */
  ratioToNoop: number;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const logger = createLogger({ service: 'bench-dispatch', version: '0.1.0', level: 'error' });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Starts the provider mock as a child process with no rate limit and no latency. */
async function startMock(): Promise<{ sendUrl: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--conditions=development', '--require', 'tsx/cjs', 'mocks/provider/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', MOCK_PORT: '0', MOCK_RATE_LIMIT: '100000000', MOCK_PROVIDER_ID: 'provider1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  const sendUrl = await waitFor(
    () => {
      const line = out.split('\n').find((l) => l.includes('provider mock listening'));
      return line ? (JSON.parse(line) as { url: string }).url : undefined;
    },
    60000,
    50,
    'the provider mock to listen',
  );
  return { sendUrl, child };
}

/** Fills a fresh queue with `jobs` jobs; returns the queue and its ids. */
async function fill(redis: Redis, prefix: string, jobs: number) {
  const keys = redisKeys(prefix);
  const queue = new Queue<SmsJobData>(keys.smsQueue, { connection: redis, prefix: keys.bullPrefix });
  const ids = Array.from({ length: jobs }, () => randomUUID());
  const now = Date.now();
  for (let i = 0; i < ids.length; i += 1000) {
    await queue.addBulk(
      ids.slice(i, i + 1000).map((id, j) => ({
        name: 'send',
        data: { message_id: id, phone: `+8801921${String(100000 + i + j).slice(-6)}`, text: 'bench', enqueued_at: now },
        opts: { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  return { queue, ids, keys };
}

/** Polls until the queue is empty; jobs/s from the first to the last completion. */
async function measureDrain(queue: Queue, jobs: number): Promise<number> {
  let first: number | undefined;
  for (;;) {
    const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
    const left = c.wait + c.active + c.delayed + c.prioritized + c.paused;
    const now = performance.now();
    if (first === undefined && left < jobs) first = now;
    if (left === 0) return ((jobs - 1) * 1000) / Math.max(1, now - (first ?? now));
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function runDispatcher(redisUrl: string, redis: Redis, sendUrl: string, jobs: number, concurrency: number): Promise<number> {
  const prefix = uniquePrefix('bench-d');
  const tmp = tempDir('bench-dispatch');
  const databaseUrl = `file:${path.join(tmp.dir, 'bench.db')}`;
  await migrateDatabase(databaseUrl);
  const db = await createDatabase({ url: databaseUrl });
  const { queue, ids } = await fill(redis, prefix, jobs);
  await db.repository.createMany(ids.map((id, i) => ({ id, phone: `+8801921${String(100000 + i).slice(-6)}`, phoneNormalized: `+8801921${String(100000 + i).slice(-6)}`, text: 'bench', encoding: 'GSM-7' as const, segments: 1 })));
  await db.close();
  const config = dispatcherConfig(
    loadConfig(dispatcherEnvSchema, {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      DATABASE_URL: databaseUrl,
      PROVIDER1_URL: sendUrl,
      PROVIDER2_URL: sendUrl,
      PROVIDER3_URL: sendUrl,
      PROVIDER_RATE_LIMIT: '100000000',
      TOTAL_RATE_LIMIT: '100000000',
      DISPATCHER_CONCURRENCY: String(concurrency),
      DISPATCHER_PORT: '0',
      LOG_LEVEL: 'error',
    }),
  );
  const dispatcher = composeDispatcher(config, { logger });
  const drained = measureDrain(queue, jobs);
  await dispatcher.start();
  const rate = await drained;
  await dispatcher.stop();
  await cleanup(redis, queue, prefix);
  tmp.cleanup();
  return rate;
}

async function runBareWorker(redis: Redis, redisUrl: string, jobs: number, concurrency: number, processor: () => Promise<void>): Promise<number> {
  const prefix = uniquePrefix('bench-w');
  const { queue, keys } = await fill(redis, prefix, jobs);
  const connection = createRedis(redisUrl, 'blocking', logger, 'bench-worker');
  const drained = measureDrain(queue, jobs);
  const worker = new Worker(keys.smsQueue, processor, { connection, prefix: keys.bullPrefix, concurrency });
  const rate = await drained;
  await worker.close();
  await connection.quit();
  await cleanup(redis, queue, prefix);
  return rate;
}

async function cleanup(redis: Redis, queue: Queue, prefix: string): Promise<void> {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  const left = await redis.keys(`*${prefix}*`);
  if (left.length > 0) await redis.del(...left);
}

/** One keep-alive HTTP POST with node:http, the body read to the end. */
function post(agent: http.Agent, url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs the three variants `runs` times, interleaved, and returns the medians. */
export async function benchDispatch(options: BenchOptions = {}): Promise<BenchFigures> {
  const jobs = options.jobs ?? 2000;
  const runs = options.runs ?? 3;
  const concurrency = options.concurrency ?? 50;
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const mock = await startMock();
  const redis = createRedis(redisUrl, 'blocking', logger, 'bench');
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(mock.sendUrl);
  const all = { dispatcher: [] as number[], rawHttp: [] as number[], noop: [] as number[] };
  try {
    // Warm-up: module loading, JIT and connection pools, not measured.
    await runDispatcher(redisUrl, redis, mock.sendUrl, Math.min(300, jobs), concurrency);
    for (let r = 0; r < runs; r++) {
      all.dispatcher.push(await runDispatcher(redisUrl, redis, mock.sendUrl, jobs, concurrency));
      all.rawHttp.push(
        await runBareWorker(redis, redisUrl, jobs, concurrency, async () => {
          await post(agent, url, JSON.stringify({ phone: '+8801921100000', text: 'bench', message_id: randomUUID() }));
        }),
      );
      all.noop.push(await runBareWorker(redis, redisUrl, jobs, concurrency, async () => undefined));
    }
  } finally {
    agent.destroy();
    await redis.quit();
    mock.child.kill('SIGTERM');
  }
  const d = median(all.dispatcher);
  const h = median(all.rawHttp);
  const n = median(all.noop);
  return {
    jobs,
    runs,
    concurrency,
    dispatcher: { median: d, all: all.dispatcher },
    rawHttp: { median: h, all: all.rawHttp },
    noop: { median: n, all: all.noop },
    ratioToRawHttp: d / h,
    ratioToNoop: d / n,
  };
}

export function formatBench(f: BenchFigures): string {
  const row = (name: string, v: { median: number; all: number[] }) =>
    `${name.padEnd(34)} ${v.median.toFixed(0).padStart(8)}   ${v.all.map((x) => x.toFixed(0)).join(' / ')}`;
  return [
    `dispatch benchmark: ${f.jobs} jobs per run, concurrency ${f.concurrency}, median of ${f.runs}`,
    `${'variant'.padEnd(34)} ${'jobs/s'.padStart(8)}   runs`,
    row('dispatcher (limits lifted)', f.dispatcher),
    row('raw BullMQ + HTTP POST (node:http)', f.rawHttp),
    row('raw BullMQ no-op', f.noop),
    `dispatcher / raw HTTP: ${(f.ratioToRawHttp * 100).toFixed(1)}% (target >= 70%)   dispatcher / no-op: ${(f.ratioToNoop * 100).toFixed(1)}%`,
  ].join('\n');
}

if (require.main === module) {
  const jobs = Number(process.argv[2] ?? 2000);
  const runs = Number(process.argv[3] ?? 3);
  benchDispatch({ jobs, runs }).then(
    (f) => {
      process.stdout.write(`${formatBench(f)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`bench-dispatch failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
