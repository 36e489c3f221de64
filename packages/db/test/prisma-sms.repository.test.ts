import { ErrorCodes } from '@twillow/errors';
import type { Database } from '../src/create-database';
import { UniqueViolationError } from '../src/db.errors';
import type { NewSmsResponse } from '../src/sms.repository';
import { newRequest, openTestDatabase } from './fixtures';

function response(requestId: string, overrides: Partial<NewSmsResponse> = {}): NewSmsResponse {
  return {
    requestId,
    provider: 'provider1',
    attempt: 1,
    statusCode: 200,
    body: '{"message_id":"p-1"}',
    latencyMs: 12,
    outcome: 'success',
    error: null,
    ...overrides,
  };
}

describe.each([
  ['prepared statements on the connection', true],
  ['Prisma queries', false],
])('PrismaSmsRepository (%s)', (_label, directStatements) => {
  let db: Database;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ db, cleanup } = await openTestDatabase({ directStatements }));
    expect(db.repository.usesDirectStatements).toBe(directStatements);
  });
  afterEach(async () => {
    await cleanup();
  });

  describe('createMany / findById / findByIdempotencyKey', () => {
    it('stores pending requests and returns them as plain objects with every field', async () => {
      const request = newRequest({ idempotencyKey: 'key-1', requestHash: 'h', requestId: 'req-1', encoding: 'UCS-2', segments: 2 });
      await db.repository.createMany([request]);

      const row = await db.repository.findById(request.id);

      expect(row).toEqual({
        ...request,
        status: 'pending',
        attempts: 0,
        provider: null,
        lastError: null,
        createdAt: expect.any(Date),
        updatedAt: expect.any(Date),
      });
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(await db.repository.findByIdempotencyKey('key-1')).toEqual(row);
      expect(await db.repository.findById('missing')).toBeNull();
      expect(await db.repository.findByIdempotencyKey('missing')).toBeNull();
    });

    it('rejects a reused idempotency key with DB.UNIQUE_VIOLATION on field idempotencyKey and stores nothing of that call', async () => {
      await db.repository.createMany([newRequest({ idempotencyKey: 'dup' })]);
      const innocent = newRequest();

      const error = await db.repository.createMany([innocent, newRequest({ idempotencyKey: 'dup' })]).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(UniqueViolationError);
      expect((error as UniqueViolationError).code).toBe(ErrorCodes.dbUniqueViolation);
      expect((error as UniqueViolationError).field).toBe('idempotencyKey');
      expect((error as UniqueViolationError).status).toBe(409);
      expect(await db.repository.findById(innocent.id)).toBeNull();
      expect((await db.repository.countByStatus()).pending).toBe(1);
    });

    it('reports a duplicate id as DB.UNIQUE_VIOLATION on field id', async () => {
      const request = newRequest();
      await db.repository.createMany([request]);
      const error = await db.repository.createMany([request]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UniqueViolationError);
      expect((error as UniqueViolationError).field).toBe('id');
    });
  });

  describe('list', () => {
    it('pages newest first with an opaque cursor and filters by status', async () => {
      // five separate commits so createdAt differs; ties are broken by id
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const request = newRequest();
        ids.push(request.id);
        await db.repository.createMany([request]);
        await new Promise((r) => setTimeout(r, 2));
      }
      await db.repository.setStatus(ids[1], 'sent');
      await db.repository.setStatus(ids[3], 'sent');

      const first = await db.repository.list({ limit: 2 });
      const second = await db.repository.list({ limit: 2, cursor: first.nextCursor! });
      const third = await db.repository.list({ limit: 2, cursor: second.nextCursor! });

      expect(first.rows.map((r) => r.id)).toEqual([ids[4], ids[3]]);
      expect(second.rows.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      expect(third.rows.map((r) => r.id)).toEqual([ids[0]]);
      expect(third.nextCursor).toBeNull();

      const sent = await db.repository.list({ limit: 10, status: 'sent' });
      expect(sent.rows.map((r) => r.id)).toEqual([ids[3], ids[1]]);
      expect(sent.nextCursor).toBeNull();
    });

    it('keeps a stable order for rows written in the same batch (same createdAt)', async () => {
      const batch = Array.from({ length: 7 }, () => newRequest());
      await db.repository.createMany(batch);
      const expected = batch.map((r) => r.id).sort().reverse();

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await db.repository.list({ limit: 3, cursor });
        seen.push(...page.rows.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);

      expect(seen).toEqual(expected);
    });

    it('clamps the limit and rejects a cursor it did not issue', async () => {
      await db.repository.createMany([newRequest(), newRequest()]);
      expect((await db.repository.list({ limit: 0 })).rows).toHaveLength(1);
      await expect(db.repository.list({ limit: 10, cursor: 'not-a-cursor' })).rejects.toMatchObject({
        code: ErrorCodes.validation,
        field: 'cursor',
        status: 400,
      });
    });
  });

  describe('recordAttempt', () => {
    it('stores the response and updates status, attempts, provider and lastError together', async () => {
      const request = newRequest();
      await db.repository.createMany([request]);

      await db.repository.recordAttempt(response(request.id, { statusCode: 503, outcome: 'server_error', error: 'HTTP 503' }), {
        status: 'processing',
        provider: 'provider1',
        lastError: 'HTTP 503',
      });
      await db.repository.recordAttempt(response(request.id, { provider: 'provider2', attempt: 2 }), {
        status: 'sent',
        provider: 'provider2',
        lastError: null,
      });

      const row = await db.repository.findWithResponses(request.id);
      expect(row).toMatchObject({ status: 'sent', attempts: 2, provider: 'provider2', lastError: null });
      expect(row!.responses.map((r) => [r.provider, r.attempt, r.statusCode, r.outcome])).toEqual([
        ['provider1', 1, 503, 'server_error'],
        ['provider2', 2, 200, 'success'],
      ]);
      expect(row!.responses[0]).toEqual({
        id: expect.any(Number),
        requestId: request.id,
        provider: 'provider1',
        attempt: 1,
        statusCode: 503,
        body: '{"message_id":"p-1"}',
        latencyMs: 12,
        outcome: 'server_error',
        error: 'HTTP 503',
        createdAt: expect.any(Date),
      });
    });

    it('stores a late failure after sent but leaves the request sent', async () => {
      const request = newRequest();
      await db.repository.createMany([request]);
      await db.repository.recordAttempt(response(request.id), { status: 'sent', provider: 'provider1' });

      await db.repository.recordAttempt(response(request.id, { attempt: 2, statusCode: null, outcome: 'timeout', error: 'timeout' }), {
        status: 'failed',
        provider: 'provider3',
        lastError: 'timeout',
      });

      const row = await db.repository.findWithResponses(request.id);
      expect(row).toMatchObject({ status: 'sent', attempts: 1, provider: 'provider1', lastError: null });
      expect(row!.responses).toHaveLength(2);
    });

    it('keeps provider and lastError when the update leaves them out, and moves updatedAt', async () => {
      const request = newRequest();
      await db.repository.createMany([request]);
      await db.repository.recordAttempt(response(request.id, { statusCode: 503, outcome: 'server_error', error: 'HTTP 503' }), {
        status: 'processing',
        provider: 'provider1',
        lastError: 'provider1: HTTP 503',
      });
      const before = await db.repository.findById(request.id);
      await new Promise((r) => setTimeout(r, 5));

      await db.repository.recordAttempt(response(request.id, { attempt: 2, statusCode: 429, outcome: 'throttled', error: 'HTTP 429' }), { status: 'processing' });

      const after = await db.repository.findWithResponses(request.id);
      expect(after).toMatchObject({ status: 'processing', attempts: 2, provider: 'provider1', lastError: 'provider1: HTTP 503' });
      expect(after!.updatedAt.getTime()).toBeGreaterThan(before!.updatedAt.getTime());
      expect(after!.createdAt).toEqual(before!.createdAt);
      expect(after!.responses.map((r) => r.outcome)).toEqual(['server_error', 'throttled']);
    });

    it('changes nothing when the response cannot be stored (unknown request)', async () => {
      await expect(db.repository.recordAttempt(response('no-such-request'), { status: 'sent' })).rejects.toThrow();
      expect(await db.repository.countByStatus()).toEqual({ pending: 0, processing: 0, sent: 0, failed: 0 });
    });
  });

  describe('setStatus', () => {
    it('moves pending -> processing -> failed and then refuses to leave failed', async () => {
      const request = newRequest();
      await db.repository.createMany([request]);

      expect(await db.repository.setStatus(request.id, 'processing')).toBe(true);
      expect(await db.repository.setStatus(request.id, 'failed', 'rejected by provider')).toBe(true);
      expect(await db.repository.setStatus(request.id, 'pending')).toBe(false);
      expect(await db.repository.setStatus(request.id, 'sent')).toBe(false);

      expect(await db.repository.findById(request.id)).toMatchObject({ status: 'failed', lastError: 'rejected by provider' });
      expect(await db.repository.setStatus('missing', 'processing')).toBe(false);
    });

    it('keeps lastError when none is given', async () => {
      const request = newRequest();
      await db.repository.createMany([request]);
      await db.repository.setStatus(request.id, 'processing', 'provider2: timeout');
      await db.repository.setStatus(request.id, 'processing');
      expect(await db.repository.findById(request.id)).toMatchObject({ status: 'processing', attempts: 0, lastError: 'provider2: timeout', provider: null });
    });
  });

  describe('findStalePending / findStaleProcessing / countByStatus', () => {
    it('returns pending requests created before the cut-off, oldest first, bounded by limit', async () => {
      const old1 = newRequest();
      const old2 = newRequest();
      await db.repository.createMany([old1]);
      await new Promise((r) => setTimeout(r, 5));
      await db.repository.createMany([old2]);
      const taken = newRequest();
      await db.repository.createMany([taken]);
      await db.repository.setStatus(taken.id, 'processing');
      await new Promise((r) => setTimeout(r, 5));
      const cutoff = new Date();
      await new Promise((r) => setTimeout(r, 5));
      await db.repository.createMany([newRequest()]);

      expect((await db.repository.findStalePending(cutoff, 10)).map((r) => r.id)).toEqual([old1.id, old2.id]);
      expect((await db.repository.findStalePending(cutoff, 1)).map((r) => r.id)).toEqual([old1.id]);
      expect((await db.repository.findStaleProcessing(cutoff, 10)).map((r) => r.id)).toEqual([taken.id]);
      expect(await db.repository.countByStatus()).toEqual({ pending: 3, processing: 1, sent: 0, failed: 0 });
    });

    it('continues after a cursor (createdAt, id) so a sweep can page through a backlog of stale rows', async () => {
      const cutoffBefore = await db.repository.findStalePending(new Date(Date.now() + 60_000), 1000);
      const known = new Set(cutoffBefore.map((r) => r.id));
      const batch = Array.from({ length: 5 }, () => newRequest());
      await db.repository.createMany(batch); // one commit: same createdAt, so the id breaks the tie
      const cutoff = new Date(Date.now() + 60_000);
      const all = (await db.repository.findStalePending(cutoff, 1000)).filter((r) => !known.has(r.id));
      expect(all.map((r) => r.id).sort()).toEqual(batch.map((r) => r.id).sort());

      const seen: string[] = [];
      let after: { at: Date; id: string } | undefined;
      for (let page = 0; page < 10; page++) {
        const rows = await db.repository.findStalePending(cutoff, 2, after);
        if (rows.length === 0) break;
        seen.push(...rows.map((r) => r.id));
        const last = rows[rows.length - 1]!;
        after = { at: last.createdAt, id: last.id };
      }
      expect(seen.filter((id) => !known.has(id))).toEqual(all.map((r) => r.id));
      expect(new Set(seen).size).toBe(seen.length);

      await db.repository.setStatus(batch[0]!.id, 'processing');
      await db.repository.setStatus(batch[1]!.id, 'processing');
      const processing = await db.repository.findStaleProcessing(cutoff, 1000);
      const first = processing.find((r) => r.id === batch[0]!.id || r.id === batch[1]!.id)!;
      const rest = await db.repository.findStaleProcessing(cutoff, 1000, { at: first.updatedAt, id: first.id });
      expect(rest.map((r) => r.id)).not.toContain(first.id);
      expect(rest.map((r) => r.id)).toContain(first.id === batch[0]!.id ? batch[1]!.id : batch[0]!.id);
    });
  });
});

describe('PrismaSmsRepository.recordAttempt group commit (prepared statements)', () => {
  let db: Database;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ db, cleanup } = await openTestDatabase());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('stores 50 attempts recorded in one event-loop turn in one transaction, each caller resolving after it', async () => {
    const requests = Array.from({ length: 50 }, () => newRequest());
    await db.repository.createMany(requests);

    await Promise.all(requests.map((r) => db.repository.recordAttempt(response(r.id), { status: 'sent', provider: 'provider1', lastError: null })));

    expect(db.repository.attemptStats).toEqual({ batches: 1, rows: 50, largestBatch: 50 });
    expect(await db.repository.countByStatus()).toMatchObject({ sent: 50, pending: 0 });
    expect((await db.repository.findWithResponses(requests[49].id))?.responses).toHaveLength(1);
  });

  it('rejects only the attempt of an unknown request; the rest of its batch is stored', async () => {
    const [a, b] = [newRequest(), newRequest()];
    await db.repository.createMany([a, b]);

    const results = await Promise.allSettled([
      db.repository.recordAttempt(response(a.id), { status: 'sent', provider: 'provider1' }),
      db.repository.recordAttempt(response('no-such-request'), { status: 'sent' }),
      db.repository.recordAttempt(response(b.id), { status: 'sent', provider: 'provider2' }),
    ]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.repository.attemptStats).toEqual({ batches: 1, rows: 2, largestBatch: 3 });
    expect(await db.repository.findById(a.id)).toMatchObject({ status: 'sent', provider: 'provider1', attempts: 1 });
    expect(await db.repository.findById(b.id)).toMatchObject({ status: 'sent', provider: 'provider2', attempts: 1 });
  });

  it('writes attempts still waiting for their turn when the database closes', async () => {
    const request = newRequest();
    await db.repository.createMany([request]);
    const recorded = db.repository.recordAttempt(response(request.id), { status: 'sent', provider: 'provider1' });
    await db.close();
    await expect(recorded).resolves.toBeUndefined();
    expect(db.repository.attemptStats.rows).toBe(1);
  });
});
