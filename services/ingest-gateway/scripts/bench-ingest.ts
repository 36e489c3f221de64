/**
 * Ingest benchmark (a script, not a test): accepted POST /api/sms/send per second and p50/p99
 * latency with autocannon at 100 connections, the ingest limit lifted, next to a bare Express 5
 * hello-world measured in the same run on the same machine. Medians of 3 runs.
 *
 * Each server runs in its own child process (autocannon stays in this one); the gateway runs from
 * source exactly as in production (main.ts) against a fresh migrated SQLite file and a unique
 * Redis prefix, so every accepted request is a durable group-committed row plus a BullMQ job.
 *
 *   node --conditions=development --require tsx/cjs services/ingest-gateway/scripts/bench-ingest.ts
 *   BENCH_DURATION_S=10 BENCH_RUNS=3 BENCH_CONNECTIONS=100 REDIS_URL=redis://127.0.0.1:6379 (defaults)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { migrateDatabase } from '@twillow/db';

export interface BenchFigures {
  /** Accepted (2xx) requests per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers and socket errors. */
  failures: number;
}

export interface IngestBenchResult {
  connections: number;
  durationS: number;
  runs: { bare: BenchFigures; ingest: BenchFigures }[];
  bare: BenchFigures;
  ingest: BenchFigures;
  /** Median accepted/s of the gateway over median req/s of bare Express. */
  ratio: number;
  /** Rows stored and jobs queued by the gateway over all runs, and the 2xx answers they should match. */
  durability: { accepted: number; rows: number; jobs: number };
  targets: { ratioAtLeast: number; p99AtMostMs: number; met: boolean };
  /** 1-minute load average before and after: other work on the machine distorts the figures. */
  loadAverage: { before: number; after: number };
}

export interface IngestBenchOptions {
  connections?: number;
  durationS?: number;
  runs?: number;
  redisUrl?: string;
  /** Seconds of warm-up before each server's first measured run. */
  warmupS?: number;
  log?: (line: string) => void;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const GATEWAY_MAIN = path.join(ROOT, 'services', 'ingest-gateway', 'src', 'main.ts');

const BARE_EXPRESS = `
const express = require('express');
const app = express();
app.get('/', (req, res) => { res.send('Hello World!'); });
app.listen(Number(process.env.PORT), '127.0.0.1');
`;

export async function benchIngest(options: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const connections = options.connections ?? 100;
  const durationS = options.durationS ?? 10;
  const runCount = options.runs ?? 3;
  const warmupS = options.warmupS ?? 3;
  const redisUrl = options.redisUrl ?? 'redis://127.0.0.1:6379';
  const log = options.log ?? (() => undefined);

  const loadBefore = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  const databaseUrl = `file:${path.join(dir, 'bench.db')}`;
  await migrateDatabase(databaseUrl);
  const prefix = `bench-${randomBytes(4).toString('hex')}`;

  const barePort = await freePort();
  const gatewayPort = await freePort();
  const bare = startChild(['-e', BARE_EXPRESS], { PORT: String(barePort) });
  const gateway = startChild(['--conditions=development', '--require', 'tsx/cjs', GATEWAY_MAIN], {
    GATEWAY_PORT: String(gatewayPort),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    INGEST_RATE_LIMIT: '100000000',
    SWEEP_INTERVAL_MS: '600000',
  });
  const bareUrl = `http://127.0.0.1:${barePort}/`;
  const sendUrl = `http://127.0.0.1:${gatewayPort}/api/sms/send`;
  const sendRequest = {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: '01921317475', text: 'Hello, this is a benchmark SMS!' }),
  };
  try {
    await waitForHttp(bareUrl, 10_000);
    await waitForHttp(`http://127.0.0.1:${gatewayPort}/health`, 30_000);
    log(`warming up (${warmupS} s each)`);
    await measure({ url: bareUrl, connections, duration: warmupS });
    let accepted = (await measure({ url: sendUrl, connections, duration: warmupS, ...sendRequest })).accepted;

    const runs: IngestBenchResult['runs'] = [];
    for (let i = 0; i < runCount; i++) {
      const b = await measure({ url: bareUrl, connections, duration: durationS });
      const g = await measure({ url: sendUrl, connections, duration: durationS, ...sendRequest });
      accepted += g.accepted;
      runs.push({ bare: b.figures, ingest: g.figures });
      log(`run ${i + 1}: bare ${b.figures.rps.toFixed(0)} req/s (p99 ${b.figures.p99Ms} ms); ingest ${g.figures.rps.toFixed(0)} accepted/s (p50 ${g.figures.p50Ms} ms, p99 ${g.figures.p99Ms} ms, failures ${g.figures.failures})`);
    }
    const medianOf = (pick: (r: IngestBenchResult['runs'][number]) => BenchFigures): BenchFigures => ({
      rps: median(runs.map((r) => pick(r).rps)),
      p50Ms: median(runs.map((r) => pick(r).p50Ms)),
      p99Ms: median(runs.map((r) => pick(r).p99Ms)),
      failures: median(runs.map((r) => pick(r).failures)),
    });
    const bareMedian = medianOf((r) => r.bare);
    const ingestMedian = medianOf((r) => r.ingest);
    const ratio = ingestMedian.rps / bareMedian.rps;

    await stopChild(gateway); // graceful: flushes the writer, so the counts below are final
    const rows = await countRows(databaseUrl);
    const jobs = await countJobs(redisUrl, prefix);
    return {
      connections,
      durationS,
      runs,
      bare: bareMedian,
      ingest: ingestMedian,
      ratio,
      durability: { accepted, rows, jobs },
      loadAverage: { before: loadBefore, after: os.loadavg()[0] },
      targets: { ratioAtLeast: 0.5, p99AtMostMs: 50, met: ratio >= 0.5 && ingestMedian.p99Ms <= 50 },
    };
  } finally {
    await stopChild(gateway);
    await stopChild(bare);
    await deleteKeys(redisUrl, prefix);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(opts: autocannon.Options): Promise<{ figures: BenchFigures; accepted: number }> {
  const result = await autocannon(opts);
  const accepted = result['2xx'];
  return {
    accepted,
    figures: {
      rps: accepted / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      failures: result.non2xx + result.errors + result.timeouts,
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function startChild(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

async function countRows(databaseUrl: string): Promise<number> {
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(databaseUrl.slice('file:'.length), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM sms_requests').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function countJobs(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    return await redis.llen(`{${prefix}}:sms:wait`);
  } finally {
    redis.disconnect();
  }
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    for (const pattern of [`{${prefix}}:*`, `{${prefix}:*`, `${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

function printTable(r: IngestBenchResult): void {
  const row = (name: string, f: BenchFigures, unit: string) =>
    `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(8)} ${unit.padEnd(11)} ${String(f.p50Ms).padStart(7)} ${String(f.p99Ms).padStart(7)} ${String(f.failures).padStart(8)}`;
  console.log(`\nIngest benchmark: autocannon, ${r.connections} connections, ${r.durationS} s per run, median of ${r.runs.length} runs`);
  console.log(`${'server'.padEnd(34)} ${'rate'.padStart(8)} ${''.padEnd(11)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'failures'.padStart(8)}`);
  console.log(row('bare Express 5 hello-world (GET)', r.bare, 'req/s'));
  console.log(row('gateway POST /api/sms/send', r.ingest, 'accepted/s'));
  console.log(`ratio ingest / bare: ${(r.ratio * 100).toFixed(1)}% (target >= 50%), ingest p99 ${r.ingest.p99Ms} ms (target <= 50 ms): ${r.targets.met ? 'MET' : 'NOT MET'}`);
  console.log(`durability: ${r.durability.accepted} accepted (warm-up included) -> ${r.durability.rows} rows stored, ${r.durability.jobs} jobs queued`);
  console.log(`load average (1 min, ${os.cpus().length} cores): ${r.loadAverage.before.toFixed(2)} before, ${r.loadAverage.after.toFixed(2)} after`);
}

if (require.main === module) {
  const int = (v: string | undefined, d: number) => (v ? Number.parseInt(v, 10) : d);
  // A script entry point, not a service: it reads its own knobs directly.
  const env = process.env;
  benchIngest({
    connections: int(env.BENCH_CONNECTIONS, 100),
    durationS: int(env.BENCH_DURATION_S, 10),
    runs: int(env.BENCH_RUNS, 3),
    redisUrl: env.REDIS_URL || undefined,
    log: (line) => console.log(line),
  })
    .then(printTable)
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
