import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@twillow/testing';
import { createDatabase } from '../src/create-database';
import { DatabaseNotMigratedError } from '../src/db.errors';
import { migrateDatabase, readMigrations } from '../src/migrate-database';

describe('migrateDatabase', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('twillow-migrate');
  });
  afterEach(() => tmp.cleanup());

  it('creates the missing data directory, applies every migration and records it as Prisma does', async () => {
    const file = path.join(tmp.dir, 'nested', 'data', 'twillow.db');
    const result = await migrateDatabase(`file:${file}`);

    const migrations = readMigrations();
    expect(result).toEqual({ databasePath: file, applied: migrations.map((m) => m.name) });
    const sqlite = new BetterSqlite3(file, { readonly: true });
    try {
      const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      expect(tables).toEqual(expect.arrayContaining(['_prisma_migrations', 'sms_requests', 'sms_responses']));
      const recorded = sqlite
        .prepare('SELECT migration_name, checksum, applied_steps_count, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name')
        .all();
      expect(recorded).toEqual(
        migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, applied_steps_count: 1, finished: 1 })),
      );
      expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      sqlite.close();
    }
  });

  it('applies nothing the second time (idempotent)', async () => {
    const url = `file:${path.join(tmp.dir, 'twillow.db')}`;
    await migrateDatabase(url);
    const again = await migrateDatabase(url);
    expect(again.applied).toEqual([]);
    const sqlite = new BetterSqlite3(path.join(tmp.dir, 'twillow.db'), { readonly: true });
    expect(sqlite.prepare('SELECT count(*) FROM _prisma_migrations').pluck().get()).toBe(readMigrations().length);
    sqlite.close();
  });

  it('accepts the original sqlite:/// URL form', async () => {
    const file = path.join(tmp.dir, 'legacy.db');
    const result = await migrateDatabase(`sqlite:///${file}`);
    expect(result.databasePath).toBe(file);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('leaves a database that prisma migrate deploy considers up to date', async () => {
    const file = path.join(tmp.dir, 'twillow.db');
    await migrateDatabase(`file:${file}`);
    const packageDir = path.resolve(__dirname, '..');
    const prismaBin = path.resolve(packageDir, '../../node_modules/.bin/prisma');
    const { stdout } = await promisify(execFile)(prismaBin, ['migrate', 'deploy'], {
      cwd: packageDir,
      env: { ...process.env, DATABASE_URL: `file:${file}`, INIT_CWD: packageDir },
    });
    expect(stdout).toContain('No pending migrations to apply');
  });
});

describe('createDatabase on a database that was never migrated', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('twillow-unmigrated');
  });
  afterEach(() => tmp.cleanup());

  it('fails with one line that names the path and the migrate command when the file is empty', async () => {
    const file = path.join(tmp.dir, 'empty.db');
    new BetterSqlite3(file).close();

    const error = await createDatabase({ url: `file:${file}` }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(DatabaseNotMigratedError);
    expect((error as DatabaseNotMigratedError).code).toBe('DB.NOT_MIGRATED');
    expect((error as Error).message).toBe(`Database at ${file} is not migrated. Run: npm run db:migrate`);
  });

  it('fails the same way, without creating the file, when the file does not exist', async () => {
    const file = path.join(tmp.dir, 'missing.db');

    const error = await createDatabase({ url: `file:${file}` }).catch((err: unknown) => err);

    expect((error as Error).message).toBe(`Database at ${file} is not migrated (the file does not exist). Run: npm run db:migrate`);
    expect((error as Error).message).not.toContain('\n');
    expect(fs.existsSync(file)).toBe(false);
  });
});
