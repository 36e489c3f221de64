import path from 'node:path';
import { sqlitePath } from '@twillow/config';

/**
 * The absolute file path of a SQLite DATABASE_URL (`file:<path>` or the original's
 * `sqlite:///<path>`). A relative path resolves against `cwd` (the process's working directory),
 * so `file:./data/twillow.db` means the same file for every process started at the repository root.
 */
export function resolveDatabasePath(databaseUrl: string, cwd: string = process.cwd()): string {
  const file = sqlitePath(databaseUrl.trim());
  if (file === '' || file === ':memory:') {
    throw new Error(`DATABASE_URL must name a SQLite file (file:<path>), got "${databaseUrl}"`);
  }
  return path.resolve(cwd, file);
}
