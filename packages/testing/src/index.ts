/**
 * Helpers for tests and benchmarks only (never imported by production code): unique Redis key
 * spaces, the Redis URL tests use, temporary directories, polling, and send rates.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** REDIS_URL from the environment (npm test sets it), else the local default. */
export function testRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** A Redis prefix no other test uses: every key, queue and channel of the test lives under it. */
export function uniquePrefix(label = 't'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(label = 'twillow'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 10000, intervalMs = 50, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * Events per second between two points of `times` (ms, any order): by default from the first to
 * the last; `from`/`to` (fractions of the count) give the sustained rate, e.g. 0.05-0.95 leaves out
 * the start of a burst (workers fetching their first jobs) and the last stragglers.
 */
export function sendRate(times: readonly number[], from = 0, to = 1): { count: number; spanMs: number; perSecond: number } {
  const t = [...times].sort((a, b) => a - b);
  if (t.length < 2) return { count: t.length, spanMs: 0, perSecond: 0 };
  const lo = Math.floor(from * (t.length - 1));
  const hi = Math.ceil(to * (t.length - 1));
  const spanMs = t[hi] - t[lo];
  return { count: hi - lo + 1, spanMs, perSecond: spanMs > 0 ? ((hi - lo) * 1000) / spanMs : 0 };
}
