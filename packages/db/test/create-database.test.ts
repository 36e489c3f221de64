import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@twillow/testing';
import { createDatabase } from '../src/create-database';
import { migrateDatabase } from '../src/migrate-database';
import { newRequest, openTestDatabase } from './fixtures';

describe('createDatabase', () => {
  it('runs the connection in WAL mode with the requested busy timeout, FULL sync and foreign keys', async () => {
    const { db, cleanup } = await openTestDatabase({ busyTimeoutMs: 1234 });
    try {
      expect(await db.settings()).toEqual({ journalMode: 'wal', busyTimeoutMs: 1234, synchronous: 2, foreignKeys: true });
    } finally {
      await cleanup();
    }
  });

  it('defaults the busy timeout to 5000 ms and honours synchronous NORMAL', async () => {
    const { db, cleanup } = await openTestDatabase({ synchronous: 'NORMAL' });
    try {
      const settings = await db.settings();
      expect(settings.busyTimeoutMs).toBe(5000);
      expect(settings.synchronous).toBe(1);
    } finally {
      await cleanup();
    }
  });

  it('opens sqlite:/// URLs and writes rows another connection can read', async () => {
    const tmp = tempDir('twillow-db-url');
    const file = path.join(tmp.dir, 'twillow.db');
    await migrateDatabase(`file:${file}`);
    const db = await createDatabase({ url: `sqlite:///${file}` });
    try {
      const request = newRequest();
      await db.writer.add(request);
      const other = new BetterSqlite3(file, { readonly: true });
      expect(other.prepare('SELECT id FROM sms_requests').pluck().all()).toEqual([request.id]);
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      other.close();
    } finally {
      await db.close();
      tmp.cleanup();
    }
  });

  it('runs the hot paths as prepared statements on the connection (the fast path is active)', async () => {
    const { db, cleanup } = await openTestDatabase();
    try {
      expect(db.repository.usesDirectStatements).toBe(true);
    } finally {
      await cleanup();
    }
  });

  it('closes idempotently and answers ping until then', async () => {
    const { db, cleanup } = await openTestDatabase();
    await expect(db.repository.ping()).resolves.toBeUndefined();
    await db.close();
    await expect(db.close()).resolves.toBeUndefined();
    await cleanup();
  });
});
