import { ErrorCodes } from '@twillow/errors';
import type { Database } from '../src/create-database';
import { UniqueViolationError } from '../src/db.errors';
import { GroupCommitWriter, type PendingInserter } from '../src/group-commit.writer';
import type { NewSmsRequest } from '../src/sms.repository';
import { newRequest, openTestDatabase } from './fixtures';

describe('GroupCommitWriter on a real database', () => {
  let db: Database;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ db, cleanup } = await openTestDatabase({ maxBatch: 500 }));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('writes 1,200 adds of one event-loop turn in three transactions and stores every row', async () => {
    const requests = Array.from({ length: 1200 }, () => newRequest());

    await Promise.all(requests.map((r) => db.writer.add(r)));

    expect(db.writer.stats).toEqual({ batches: 3, rows: 1200, largestBatch: 500 });
    expect((await db.repository.countByStatus()).pending).toBe(1200);
    expect(await db.repository.findById(requests[1199].id)).toMatchObject({ status: 'pending' });
  });

  it('puts adds of separate turns into separate batches', async () => {
    await Promise.all([db.writer.add(newRequest()), db.writer.add(newRequest())]);
    await db.writer.add(newRequest());
    expect(db.writer.stats).toMatchObject({ batches: 2, rows: 3 });
  });

  it('rejects only the caller whose idempotency key is taken; the rest of the batch lands', async () => {
    await db.writer.add(newRequest({ idempotencyKey: 'taken' }));
    const before = newRequest();
    const after = newRequest();
    const sameBatchTwin1 = newRequest({ idempotencyKey: 'twin' });
    const sameBatchTwin2 = newRequest({ idempotencyKey: 'twin' });

    const results = await Promise.allSettled([
      db.writer.add(before),
      db.writer.add(newRequest({ idempotencyKey: 'taken' })),
      db.writer.add(sameBatchTwin1),
      db.writer.add(sameBatchTwin2),
      db.writer.add(after),
    ]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    for (const rejected of [results[1], results[3]] as PromiseRejectedResult[]) {
      expect(rejected.reason).toBeInstanceOf(UniqueViolationError);
      expect(rejected.reason).toMatchObject({ code: ErrorCodes.dbUniqueViolation, field: 'idempotencyKey', status: 409 });
    }
    expect(await db.repository.findById(before.id)).not.toBeNull();
    expect(await db.repository.findById(after.id)).not.toBeNull();
    expect((await db.repository.findByIdempotencyKey('twin'))?.id).toBe(sameBatchTwin1.id);
    expect(db.writer.stats.batches).toBe(2);
  });

  it('isolates a duplicate id: only its caller fails, with field id', async () => {
    const existing = newRequest();
    await db.writer.add(existing);
    const fine = newRequest();

    const results = await Promise.allSettled([db.writer.add(fine), db.writer.add({ ...existing })]);

    expect(results[0].status).toBe('fulfilled');
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCodes.dbUniqueViolation, field: 'id' });
    expect(await db.repository.findById(fine.id)).not.toBeNull();
  });

  it('flushes pending adds on close and refuses adds afterwards', async () => {
    const added = Array.from({ length: 10 }, () => newRequest()).map((r) => db.writer.add(r));
    await db.writer.close();
    await expect(Promise.all(added)).resolves.toHaveLength(10);
    await expect(db.writer.add(newRequest())).rejects.toMatchObject({ code: ErrorCodes.shuttingDown });
    expect((await db.repository.countByStatus()).pending).toBe(10);
  });
});

describe('GroupCommitWriter when the store fails', () => {
  it('rejects every caller of the failing batch with the error and keeps serving later batches', async () => {
    const failure = new Error('disk I/O error');
    let calls = 0;
    const inserter: PendingInserter = {
      insertPending: async (_requests: NewSmsRequest[]) => {
        calls += 1;
        if (calls === 1) throw failure;
        return { idempotencyConflicts: [] };
      },
    };
    const writer = new GroupCommitWriter(inserter);

    const first = await Promise.allSettled([writer.add(newRequest()), writer.add(newRequest())]);
    const second = await writer.add(newRequest());

    expect(first).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    expect(second).toBeUndefined();
    expect(writer.stats).toEqual({ batches: 1, rows: 1, largestBatch: 1 });
    await writer.close();
  });
});
