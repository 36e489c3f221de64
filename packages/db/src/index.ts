export { createDatabase, type CreateDatabaseOptions, type Database, type DatabaseSettings } from './create-database';
export { migrateDatabase, readMigrations, MIGRATIONS_DIR, type MigrateOptions, type MigrateResult, type MigrationFile } from './migrate-database';
export { resolveDatabasePath } from './database-url';
export { PrismaSmsRepository, MAX_LIST_LIMIT, type InsertPendingResult } from './prisma-sms.repository';
export { GroupCommitWriter, type GroupCommitStats, type GroupCommitWriterOptions, type PendingInserter } from './group-commit.writer';
export { DatabaseNotMigratedError, UniqueViolationError } from './db.errors';
export { benchInsert, type BenchInsertOptions, type BenchInsertResult } from './bench-insert';
export type {
  ListRequestsFilter,
  MessageStatus,
  NewSmsRequest,
  NewSmsResponse,
  SmsRepository,
  SmsRequestRow,
  SmsResponseRow,
  StaleCursor,
} from './sms.repository';
