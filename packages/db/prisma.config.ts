import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

// The JS engine with the better-sqlite3 adapter lets generate, migrate diff and migrate deploy run
// without Prisma's native schema engine, which cannot be downloaded on machines that only reach npm.
// The schema's datasource reads DATABASE_URL; without it Prisma falls back to the native engines.
process.env.DATABASE_URL ??= `file:${path.resolve(__dirname, '../../data/twillow.db')}`;
const url = process.env.DATABASE_URL;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(__dirname, 'prisma', 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'prisma', 'migrations') },
  async adapter() {
    return new PrismaBetterSQLite3({ url });
  },
});
