import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

// The JS engine with the better-sqlite3 adapter lets generate, migrate diff and migrate deploy run
// without Prisma's native schema engine, which cannot be downloaded on machines that only reach npm.
// The schema's datasource reads DATABASE_URL; without it Prisma falls back to the native engines.
//
// This file is read by the Prisma CLI, not by Twillow processes, so it is the one place outside
// packages/config that looks at the environment. `npm run db:migrate` at the repository root runs
// the CLI from packages/db; npm keeps the caller's directory in INIT_CWD, and a relative
// DATABASE_URL (file:./data/twillow.db, or the original's sqlite:///data/twillow.db) resolves against
// it, exactly as the services resolve it against their working directory.
const callerDir = process.env.INIT_CWD || process.cwd();
const given = process.env.DATABASE_URL || 'file:./data/twillow.db';
const filePath = given.startsWith('sqlite:///')
  ? given.slice('sqlite:///'.length)
  : given.startsWith('file:')
    ? given.slice('file:'.length)
    : given;
const absolute = filePath === ':memory:' ? filePath : path.resolve(callerDir, filePath);
process.env.DATABASE_URL = `file:${absolute}`;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(__dirname, 'prisma', 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'prisma', 'migrations') },
  async adapter() {
    if (absolute !== ':memory:') fs.mkdirSync(path.dirname(absolute), { recursive: true });
    return new PrismaBetterSQLite3({ url: absolute });
  },
});
