/**
 * Stand-alone baselines: raw BullMQ add (one job per call, many in flight; and addBulk) and raw
 * better-sqlite3 insert (one transaction per row; and batched transactions) on the real schema.
 *
 * The other baselines are measured inside their benchmark, interleaved run by run with what they
 * are compared to: bare Express 5 hello-world in benchIngest, raw BullMQ no-op and HTTP-POST
 * processing in benchDispatch.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { migrateDatabase } from '@twillow/db';
import { type Series, series } from './stats';

export interface BaselineOptions {
  redisUrl: string;
  runs: number;
  /** Jobs per BullMQ add run. */
  jobs: number;
  /** Adds in flight at once in the one-by-one variant (a gateway under 100 connections). */
  inFlight: number;
  /** Rows per run of the one-transaction-per-row insert (each commit is an fsync). */
  rowsSingle: number;
  /** Rows per run of the batched insert, and rows per transaction. */
  rowsBatched: number;
  batchSize: number;
  log: (line: string) => void;
}

export interface BaselineResult {
  bullmqAdd: Series & { jobs: number; inFlight: number };
  bullmqAddBulk: Series & { jobs: number; perCall: number };
  sqliteSingle: Series & { rows: number };
  sqliteBatched: Series & { rows: number; batchSize: number };
  /** SQLite settings of both insert variants (same as the gateway's: WAL, synchronous FULL). */
  sqlite: { journalMode: string; synchronous: string; dir: string };
}

function jobData(i: number) {
  return { message_id: randomUUID(), phone: `+8801921${String(100000 + (i % 900000)).slice(-6)}`, text: 'Hello, this is a benchmark SMS!', enqueued_at: Date.now() };
}

async function withQueue<T>(redisUrl: string, body: (queue: Queue) => Promise<T>): Promise<T> {
  const prefix = `{bench-base-${randomUUID().slice(0, 8)}}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('sms', { connection, prefix });
  try {
    await queue.waitUntilReady();
    return await body(queue);
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await connection.quit();
  }
}

/** Jobs/s of `queue.add`, `inFlight` adds outstanding at any time. */
async function addOneByOne(redisUrl: string, jobs: number, inFlight: number): Promise<number> {
  return withQueue(redisUrl, async (queue) => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < jobs) {
          const i = next++;
          const data = jobData(i);
          await queue.add('send', data, { jobId: data.message_id, removeOnComplete: true, removeOnFail: true });
        }
      }),
    );
    return (jobs * 1000) / (performance.now() - t0);
  });
}

/** Jobs/s of `queue.addBulk`, `perCall` jobs per call, one call at a time. */
async function addBulk(redisUrl: string, jobs: number, perCall: number): Promise<number> {
  return withQueue(redisUrl, async (queue) => {
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += perCall) {
      await queue.addBulk(
        Array.from({ length: Math.min(perCall, jobs - i) }, (_, j) => {
          const data = jobData(i + j);
          return { name: 'send', data, opts: { jobId: data.message_id, removeOnComplete: true, removeOnFail: true } };
        }),
      );
    }
    return (jobs * 1000) / (performance.now() - t0);
  });
}

const INSERT =
  'INSERT INTO sms_requests (id, phone, phone_normalized, text, encoding, segments, status, attempts, idempotency_key, request_hash, request_id, created_at, updated_at) ' +
  "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)";

/** Rows/s of prepared inserts on a fresh migrated file, `batchSize` rows per transaction (1 = autocommit per row). */
async function sqliteInsert(dir: string, name: string, rows: number, batchSize: number): Promise<number> {
  const url = `file:${path.join(dir, `${name}.db`)}`;
  await migrateDatabase(url);
  const db = new BetterSqlite3(url.slice('file:'.length));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const insert = db.prepare(INSERT);
    const now = new Date().toISOString();
    const one = (i: number) => insert.run(randomUUID(), '01921317475', '+8801921317475', `bench ${i}`, 'GSM-7', 1, null, null, randomUUID(), now, now);
    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) one(i);
    });
    const t0 = performance.now();
    if (batchSize <= 1) for (let i = 0; i < rows; i++) one(i);
    else for (let i = 0; i < rows; i += batchSize) batch(i, Math.min(rows, i + batchSize));
    return (rows * 1000) / (performance.now() - t0);
  } finally {
    db.close();
  }
}

export async function benchBaselines(o: BaselineOptions): Promise<BaselineResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-bench-base-'));
  const all = { add: [] as number[], bulk: [] as number[], single: [] as number[], batched: [] as number[] };
  const perCall = 1000;
  try {
    // Warm-up (not counted): module loading, JIT, Redis connections, the file system.
    await addOneByOne(o.redisUrl, Math.min(500, o.jobs), o.inFlight);
    await addBulk(o.redisUrl, Math.min(500, o.jobs), perCall);
    await sqliteInsert(dir, 'warm', Math.min(200, o.rowsSingle), 1);
    for (let r = 0; r < o.runs; r++) {
      all.add.push(await addOneByOne(o.redisUrl, o.jobs, o.inFlight));
      all.bulk.push(await addBulk(o.redisUrl, o.jobs, perCall));
      all.single.push(await sqliteInsert(dir, `single${r}`, o.rowsSingle, 1));
      all.batched.push(await sqliteInsert(dir, `batched${r}`, o.rowsBatched, o.batchSize));
      o.log(
        `baselines run ${r + 1}/${o.runs}: BullMQ add ${all.add[r].toFixed(0)} jobs/s, addBulk ${all.bulk[r].toFixed(0)} jobs/s, ` +
          `SQLite 1 row/tx ${all.single[r].toFixed(0)} rows/s, ${o.batchSize} rows/tx ${all.batched[r].toFixed(0)} rows/s`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    bullmqAdd: { ...series(all.add), jobs: o.jobs, inFlight: o.inFlight },
    bullmqAddBulk: { ...series(all.bulk), jobs: o.jobs, perCall },
    sqliteSingle: { ...series(all.single), rows: o.rowsSingle },
    sqliteBatched: { ...series(all.batched), rows: o.rowsBatched, batchSize: o.batchSize },
    sqlite: { journalMode: 'WAL', synchronous: 'FULL', dir: os.tmpdir() },
  };
}
