import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { resolveDatabasePath } from './database-url';

/** The checked-in migrations (prisma/migrations), the same directory from src/ and from dist/. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'prisma', 'migrations');

export interface MigrationFile {
  /** Directory name, e.g. 20261128130000_init; migrations apply in name order. */
  name: string;
  sql: string;
  /** sha256 hex of migration.sql, exactly as `prisma migrate deploy` records it. */
  checksum: string;
}

export interface MigrateOptions {
  /** How long to wait for another process's write lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
  migrationsDir?: string;
}

export interface MigrateResult {
  databasePath: string;
  /** Names of the migrations this call applied (empty when the database was up to date). */
  applied: string[];
}

/** Prisma's own bookkeeping table, verbatim, so `prisma migrate deploy/status` agree with us. */
const PRISMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

export function readMigrations(migrationsDir: string = MIGRATIONS_DIR): MigrationFile[] {
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql, 'utf8').digest('hex') };
    });
}

/** Timestamps in the format Prisma's SQLite adapter writes (ISO 8601 with +00:00). */
export function sqliteTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+00:00');
}

/**
 * Applies the pending checked-in migrations to the SQLite file of `databaseUrl`, creating the file
 * and its directory if missing, and records them in `_prisma_migrations` exactly as
 * `prisma migrate deploy` does (same table, checksum and names), so either tool can take over.
 * All pending migrations apply in one IMMEDIATE transaction: concurrent callers (several
 * containers starting at once) serialize, and a failing migration leaves nothing half-applied.
 * Also switches the database to WAL, which is persistent. Takes a few ms, no child process.
 */
export async function migrateDatabase(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const databasePath = resolveDatabasePath(databaseUrl);
  const migrations = readMigrations(options.migrationsDir);
  fs.mkdirSync(path.dirname(databasePath), { recursive: true });
  const db = new BetterSqlite3(databasePath, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    db.pragma('journal_mode = WAL');
    const apply = db.transaction((): string[] => {
      db.exec(PRISMA_MIGRATIONS_DDL);
      const rows = db
        .prepare('SELECT migration_name, finished_at, rolled_back_at FROM "_prisma_migrations"')
        .all() as { migration_name: string; finished_at: string | null; rolled_back_at: string | null }[];
      const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
      if (failed.length > 0) {
        throw new Error(
          `Database at ${databasePath} has a failed migration (${failed.map((r) => r.migration_name).join(', ')}); ` +
            'resolve it with `npx prisma migrate resolve` (in packages/db) before migrating again.',
        );
      }
      const done = new Set(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name));
      const insert = db.prepare(
        'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) ' +
          'VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)',
      );
      const applied: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.name)) continue;
        const startedAt = sqliteTimestamp(new Date());
        db.exec(migration.sql);
        insert.run(randomUUID(), migration.checksum, sqliteTimestamp(new Date()), migration.name, startedAt);
        applied.push(migration.name);
      }
      return applied;
    });
    return { databasePath, applied: apply.immediate() };
  } finally {
    db.close();
  }
}
