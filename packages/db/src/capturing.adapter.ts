import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';

/**
 * PrismaBetterSQLite3 that also keeps the better-sqlite3 connection it opens, so the ingest hot
 * path can run one prepared INSERT per row on the SAME connection (3x less CPU per row than a
 * Prisma raw query, see scripts/bench-insert.ts). The adapter keeps the connection in its `client`
 * field, which is not part of its typed API: when a Prisma upgrade changes that, `connection`
 * stays null and the repository falls back to Prisma raw SQL (a test asserts the fast path is on).
 */
export class ConnectionCapturingAdapter extends PrismaBetterSQLite3 {
  connection: BetterSqlite3.Database | null = null;

  override async connect(): ReturnType<PrismaBetterSQLite3['connect']> {
    const adapter = await super.connect();
    const client = (adapter as unknown as { client?: unknown }).client;
    this.connection = client instanceof BetterSqlite3 ? client : null;
    return adapter;
  }
}
