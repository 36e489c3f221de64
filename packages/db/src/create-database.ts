import fs from 'node:fs';
import { ConnectionCapturingAdapter } from './capturing.adapter';
import { resolveDatabasePath } from './database-url';
import { DatabaseNotMigratedError } from './db.errors';
import { PrismaClient } from './generated/prisma/client';
import { GroupCommitWriter } from './group-commit.writer';
import { readMigrations } from './migrate-database';
import { PrismaSmsRepository } from './prisma-sms.repository';
import { SerialQueue } from './serial-queue';

export interface CreateDatabaseOptions {
  /** DATABASE_URL: `file:<path>` or `sqlite:///<path>`; relative paths resolve against the cwd. */
  url: string;
  /** How long a statement waits for another connection's write lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Most requests the group-commit writer stores in one transaction. Default 500. */
  maxBatch?: number;
  /**
   * SQLite `synchronous` in WAL mode. FULL (default) fsyncs the WAL on every commit, so a stored
   * request survives power loss; NORMAL survives a process crash only. Group commit makes FULL cheap.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * Run the hot paths (ingest batches; findById, setStatus and recordAttempt of the dispatcher)
   * as prepared statements on the client's own connection (default true); false routes them
   * through Prisma (several times more CPU, same results).
   */
  directStatements?: boolean;
}

export interface DatabaseSettings {
  /** e.g. `wal` */
  journalMode: string;
  /** ms */
  busyTimeoutMs: number;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA */
  synchronous: number;
  foreignKeys: boolean;
}

export interface Database {
  repository: PrismaSmsRepository;
  writer: GroupCommitWriter;
  /** Absolute path of the SQLite file. */
  path: string;
  /** The connection's SQLite settings as SQLite reports them (for /health details and tests). */
  settings(): Promise<DatabaseSettings>;
  /** Flushes the writer, then closes the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the SQLite database of `url` through Prisma (better-sqlite3 adapter, one connection) with
 * WAL and the busy timeout in effect. Fails with DatabaseNotMigratedError (one line naming the
 * path and `npm run db:migrate`) when the file is missing or lacks a checked-in migration.
 */
export async function createDatabase(options: CreateDatabaseOptions): Promise<Database> {
  const file = resolveDatabasePath(options.url);
  if (!fs.existsSync(file)) throw new DatabaseNotMigratedError(file, 'the file does not exist');
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const adapter = new ConnectionCapturingAdapter({ url: file, timeout: busyTimeoutMs });
  const prisma = new PrismaClient({ adapter });
  try {
    await prisma.$connect();
    await assertMigrated(prisma, file);
    // $queryRawUnsafe: some PRAGMAs answer with a row, which executeRaw refuses.
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    await prisma.$queryRawUnsafe(`PRAGMA synchronous = ${options.synchronous ?? 'FULL'}`);
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
  } catch (err) {
    await prisma.$disconnect();
    throw err;
  }
  const queue = new SerialQueue();
  const repository = new PrismaSmsRepository(prisma, { queue, connection: options.directStatements === false ? null : adapter.connection });
  const writer = new GroupCommitWriter(repository, { maxBatch: options.maxBatch });
  let closed: Promise<void> | null = null;
  return {
    repository,
    writer,
    path: file,
    settings: () =>
      queue.run(async () => {
        const pragma = async (name: string) => {
          const rows = await prisma.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
          return Object.values(rows[0] ?? {})[0];
        };
        return {
          journalMode: String(await pragma('journal_mode')),
          busyTimeoutMs: Number(await pragma('busy_timeout')),
          synchronous: Number(await pragma('synchronous')),
          foreignKeys: Number(await pragma('foreign_keys')) === 1,
        };
      }),
    close() {
      closed ??= writer.close().finally(() => repository.close());
      return closed;
    },
  };
}

async function assertMigrated(prisma: PrismaClient, file: string): Promise<void> {
  const tables = await prisma.$queryRaw<{ name: string }[]>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`;
  if (tables.length === 0) throw new DatabaseNotMigratedError(file);
  const applied = await prisma.$queryRaw<{ migration_name: string }[]>`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  const done = new Set(applied.map((r) => r.migration_name));
  const pending = readMigrations()
    .map((m) => m.name)
    .filter((name) => !done.has(name));
  if (pending.length > 0) throw new DatabaseNotMigratedError(file, `pending: ${pending.join(', ')}`);
}
