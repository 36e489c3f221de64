import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { createDatabase } from './create-database';
import { migrateDatabase } from './migrate-database';
import type { NewSmsRequest } from './sms.repository';

export interface BenchInsertOptions {
  /** Requests inserted per run. Default 5000. */
  rows?: number;
  /** Runs per variant; the median is reported. Default 3. */
  runs?: number;
  /** Writer batch limit. Default 500. */
  maxBatch?: number;
  /** Requests added per event-loop turn in the "turns" variant (a busy gateway). Default 100. */
  perTurn?: number;
  synchronous?: 'FULL' | 'NORMAL';
}

export interface BenchVariant {
  name: string;
  /** Median rows per second over the runs. */
  medianRowsPerSec: number;
  runsRowsPerSec: number[];
}

export interface BenchInsertResult {
  rows: number;
  runs: number;
  /** Every request added at once through GroupCommitWriter (batches of maxBatch). */
  writer: BenchVariant;
  /** Requests added `perTurn` per event-loop turn through GroupCommitWriter. */
  writerTurns: BenchVariant;
  /** Baseline: one better-sqlite3 prepared INSERT per row, all in one transaction. */
  raw: BenchVariant;
  /** writer.median / raw.median. */
  ratio: number;
}

function request(i: number): NewSmsRequest {
  return {
    id: randomUUID(),
    phone: '01921317475',
    phoneNormalized: '+8801921317475',
    text: `bench message ${i}`,
    encoding: 'GSM-7',
    segments: 1,
    idempotencyKey: i % 2 === 0 ? randomUUID() : null,
    requestHash: null,
    requestId: randomUUID(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function freshDatabaseUrl(dir: string, name: string): Promise<string> {
  const url = `file:${path.join(dir, `${name}.db`)}`;
  await migrateDatabase(url);
  return url;
}

/**
 * Insert throughput of the ingest write path against raw better-sqlite3, each run on a fresh
 * migrated SQLite file in a temp dir (same schema, WAL, same `synchronous`), after one uncounted
 * warm-up run. Reports medians.
 */
export async function benchInsert(options: BenchInsertOptions = {}): Promise<BenchInsertResult> {
  const rows = options.rows ?? 5000;
  const runs = options.runs ?? 3;
  const perTurn = options.perTurn ?? 100;
  const synchronous = options.synchronous ?? 'FULL';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-bench-insert-'));
  const results = { writer: [] as number[], writerTurns: [] as number[], raw: [] as number[] };
  try {
    // Run 0 warms up the JIT and the file system and is not counted.
    for (let run = 0; run <= runs; run++) {
      const record = (variant: keyof typeof results, rowsPerSec: number) => {
        if (run > 0) results[variant].push(rowsPerSec);
      };
      const data = Array.from({ length: rows }, (_, i) => request(i));

      // writer, everything at once
      {
        const db = await createDatabase({ url: await freshDatabaseUrl(dir, `w${run}`), maxBatch: options.maxBatch, synchronous });
        const t0 = process.hrtime.bigint();
        await Promise.all(data.map((r) => db.writer.add(r)));
        record('writer', rows / (Number(process.hrtime.bigint() - t0) / 1e9));
        await db.close();
      }

      // writer, perTurn requests per event-loop turn
      {
        const db = await createDatabase({ url: await freshDatabaseUrl(dir, `t${run}`), maxBatch: options.maxBatch, synchronous });
        const fresh = data.map((r) => ({ ...r, id: randomUUID(), idempotencyKey: r.idempotencyKey ? randomUUID() : null }));
        const t0 = process.hrtime.bigint();
        const pending: Promise<void>[] = [];
        for (let i = 0; i < rows; i += perTurn) {
          for (const r of fresh.slice(i, i + perTurn)) pending.push(db.writer.add(r));
          await new Promise((resolve) => setImmediate(resolve));
        }
        await Promise.all(pending);
        record('writerTurns', rows / (Number(process.hrtime.bigint() - t0) / 1e9));
        await db.close();
      }

      // raw better-sqlite3 baseline
      {
        const url = await freshDatabaseUrl(dir, `r${run}`);
        const sqlite = new BetterSqlite3(url.slice('file:'.length));
        sqlite.pragma('journal_mode = WAL');
        sqlite.pragma(`synchronous = ${synchronous}`);
        const insert = sqlite.prepare(
          'INSERT INTO sms_requests (id, phone, phone_normalized, text, encoding, segments, status, attempts, idempotency_key, request_hash, request_id, created_at, updated_at) ' +
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)",
        );
        const t0 = process.hrtime.bigint();
        const now = new Date().toISOString().replace('Z', '+00:00');
        sqlite.transaction(() => {
          for (const r of data) {
            insert.run(r.id, r.phone, r.phoneNormalized, r.text, r.encoding, r.segments, r.idempotencyKey, r.requestHash, r.requestId, now, now);
          }
        })();
        record('raw', rows / (Number(process.hrtime.bigint() - t0) / 1e9));
        sqlite.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const variant = (name: string, xs: number[]): BenchVariant => ({ name, medianRowsPerSec: median(xs), runsRowsPerSec: xs });
  const writer = variant('GroupCommitWriter (all at once)', results.writer);
  const raw = variant('better-sqlite3 prepared insert, one transaction', results.raw);
  return {
    rows,
    runs,
    writer,
    writerTurns: variant(`GroupCommitWriter (${perTurn} per turn)`, results.writerTurns),
    raw,
    ratio: writer.medianRowsPerSec / raw.medianRowsPerSec,
  };
}
