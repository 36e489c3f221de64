import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { tempDir } from '@twillow/testing';
import { createDatabase, type CreateDatabaseOptions, type Database } from '../src/create-database';
import { migrateDatabase } from '../src/migrate-database';
import type { NewSmsRequest } from '../src/sms.repository';

/** A migrated SQLite file in a fresh temp dir, opened through createDatabase. */
export async function openTestDatabase(
  options: Omit<CreateDatabaseOptions, 'url'> = {},
): Promise<{ db: Database; url: string; cleanup: () => Promise<void> }> {
  const tmp = tempDir('twillow-db');
  const url = `file:${path.join(tmp.dir, 'twillow.db')}`;
  await migrateDatabase(url);
  const db = await createDatabase({ url, ...options });
  return {
    db,
    url,
    cleanup: async () => {
      await db.close();
      tmp.cleanup();
    },
  };
}

export function newRequest(overrides: Partial<NewSmsRequest> = {}): NewSmsRequest {
  return {
    id: randomUUID(),
    phone: '01921317475',
    phoneNormalized: '+8801921317475',
    text: 'hello',
    encoding: 'GSM-7',
    segments: 1,
    idempotencyKey: null,
    requestHash: null,
    requestId: null,
    ...overrides,
  };
}
