import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createDatabase } from '@twillow/db';
import { testRedisUrl, waitFor } from '@twillow/testing';
import { EnqueueSweeper } from '../src/enqueue.sweeper';
import { startGateway, VALID_E164, VALID_PHONE, type TestGateway } from './harness';

describe('enqueue sweeper', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // processing rows count as interrupted after DIRECT_SEND_MAX_WAIT_MS + PROVIDER_TIMEOUT_MS + SWEEP_AFTER_MS = 500 ms
    gw = await startGateway({
      env: { INGEST_RATE_LIMIT: '100000', SWEEP_INTERVAL_MS: '200', SWEEP_AFTER_MS: '300', DIRECT_SEND_MAX_WAIT_MS: '0', PROVIDER_TIMEOUT_MS: '200' },
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('adds the job of a pending row that has none (a crash between the write and the enqueue)', async () => {
    const id = randomUUID();
    await gw.gateway.database.writer.add({
      id,
      phone: VALID_PHONE,
      phoneNormalized: VALID_E164,
      text: 'orphaned',
      encoding: 'GSM-7',
      segments: 1,
      requestId: 'req-orphan',
    });
    expect(await gw.gateway.queue.getJob(id)).toBeUndefined();

    const job = await waitFor(() => gw.gateway.queue.getJob(id), 5000, 100, 'the sweeper to add the job');
    expect(job.data).toMatchObject({ message_id: id, phone: VALID_E164, text: 'orphaned', request_id: 'req-orphan' });
    // The sweeper logs after the add resolves, so the line may follow the job by a moment.
    await waitFor(
      () => gw.logs.some((l) => l.message === 'enqueue sweeper re-added jobs of pending requests that had none' && (l.message_ids as string[]).includes(id)),
      2000,
      20,
      'the sweeper log line naming the message',
    );
  });

  it('leaves alone a pending row whose job already ran (completed), so nothing is sent twice', async () => {
    const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'already done' });
    const { message_id: id } = await res.json();
    // A worker that completes jobs without touching the database: the row stays pending.
    const worker = new Worker(gw.keys.smsQueue, async () => 'done', { connection: { url: testRedisUrl() }, prefix: gw.keys.bullPrefix });
    try {
      await waitFor(async () => (await gw.gateway.queue.getJob(id))?.isCompleted(), 5000, 50, 'the job to complete');
    } finally {
      await worker.close();
    }
    const finishedOn = (await gw.gateway.queue.getJob(id))?.finishedOn;
    await new Promise((r) => setTimeout(r, 800)); // older than SWEEP_AFTER_MS, several sweeps later
    expect((await gw.gateway.database.repository.findById(id))?.status).toBe('pending');
    expect(await gw.gateway.sweeper.sweepOnce()).toEqual({ pending: 0, processing: 0 });
    const job = await gw.gateway.queue.getJob(id);
    expect(await job?.getState()).toBe('completed');
    expect(job?.finishedOn).toBe(finishedOn);
    expect(gw.logs.some((l) => Array.isArray(l.message_ids) && (l.message_ids as string[]).includes(id))).toBe(false);
  });

  it('re-queues a processing row that has no job (a direct send whose gateway died mid-send)', async () => {
    const id = randomUUID();
    await gw.gateway.database.writer.add({ id, phone: VALID_PHONE, phoneNormalized: VALID_E164, text: 'interrupted', encoding: 'GSM-7', segments: 1 });
    // What DirectSendUseCase writes before the send leaves; a crash here leaves the row processing.
    await gw.gateway.database.repository.setStatus(id, 'processing');

    const job = await waitFor(() => gw.gateway.queue.getJob(id), 5000, 100, 'the sweeper to re-queue the processing row');
    expect(job.data).toMatchObject({ message_id: id, phone: VALID_E164, text: 'interrupted' });
    expect((await gw.gateway.database.repository.findById(id))?.status).toBe('processing');
    // The sweeper logs after the add resolves, so the line may follow the job by a moment (CI saw it missing).
    const line = await waitFor(
      () => gw.logs.find((l) => Array.isArray(l.message_ids) && (l.message_ids as string[]).includes(id)),
      2000,
      20,
      'the sweeper log line naming the message',
    );
    expect(line).toMatchObject({ level: 'warn', count: 1 });
    expect(String(line?.message)).toContain('re-queued processing requests that had no job');
  });

  it('leaves alone a processing row whose job still exists (a dispatcher retrying it later)', async () => {
    const id = randomUUID();
    await gw.gateway.database.writer.add({ id, phone: VALID_PHONE, phoneNormalized: VALID_E164, text: 'retrying', encoding: 'GSM-7', segments: 1 });
    await gw.gateway.database.repository.setStatus(id, 'processing');
    await gw.gateway.queue.add('send', { message_id: id, phone: VALID_E164, text: 'retrying', enqueued_at: Date.now() }, { jobId: id, delay: 60_000 });
    const before = await gw.gateway.queue.getJob(id);

    await new Promise((r) => setTimeout(r, 1200)); // past the 500 ms bound, several sweeps later
    expect(await gw.gateway.sweeper.sweepOnce()).toEqual({ pending: 0, processing: 0 });
    const after = await gw.gateway.queue.getJob(id);
    expect(await after?.getState()).toBe('delayed');
    expect(after?.timestamp).toBe(before?.timestamp);
    expect(gw.logs.some((l) => Array.isArray(l.message_ids) && (l.message_ids as string[]).includes(id))).toBe(false);
  });
});

describe('enqueue sweeper during a backlog', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { INGEST_RATE_LIMIT: '100000' } }); // background sweeps every 60 s: not during this test
  });
  afterAll(async () => {
    await gw.close();
  });

  it('continues where the last pass stopped, so orphans behind a page of rows that have jobs are reached, and wraps around', async () => {
    const { database, queue, logger } = gw.gateway;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = randomUUID();
      await database.writer.add({ id, phone: VALID_PHONE, phoneNormalized: VALID_E164, text: `backlog ${i}`, encoding: 'GSM-7', segments: 1 });
      ids.push(id);
      await new Promise((r) => setTimeout(r, 3)); // distinct created_at: oldest first = insertion order
    }
    // The five oldest are queued (the dispatcher is behind); the two newest lost their job.
    for (const id of ids.slice(0, 5)) await queue.add('send', { message_id: id, phone: VALID_E164, text: 'x', enqueued_at: Date.now() }, { jobId: id, delay: 60_000 });
    const added: string[] = [];
    const sweeper = new EnqueueSweeper(
      {
        repository: database.repository,
        jobExists: async (id) => (await queue.getJob(id)) !== undefined,
        enqueue: async (job) => {
          added.push(job.message_id);
          await queue.add('send', job, { jobId: job.message_id });
        },
        logger,
      },
      { intervalMs: 60_000, afterMs: 0, processingAfterMs: 60_000, batch: 3 },
    );

    expect(await sweeper.sweepOnce()).toEqual({ pending: 0, processing: 0 }); // rows 1-3: all have jobs
    expect(await sweeper.sweepOnce()).toEqual({ pending: 1, processing: 0 }); // rows 4-6: row 6 is an orphan
    expect(await sweeper.sweepOnce()).toEqual({ pending: 1, processing: 0 }); // row 7, then the end
    expect(added).toEqual([ids[5], ids[6]]);
    expect(await sweeper.sweepOnce()).toEqual({ pending: 0, processing: 0 }); // wrapped: rows 1-3 again
    expect(added).toHaveLength(2);
  });
});

describe('graceful shutdown', () => {
  it('answers in-flight sends, and every accepted message has both its row and its job', async () => {
    const gw = await startGateway({ env: { INGEST_RATE_LIMIT: '100000' } });
    // Connections refused after the close are fine; what was accepted must be complete.
    const posts = Array.from({ length: 40 }, (_, i) => gw.post('/api/sms/send', { phone: VALID_PHONE, text: `closing ${i}` }));
    const sends = Promise.allSettled(posts);
    await Promise.race(posts); // the first answer is out; the others are in flight or still connecting
    await gw.close({ keepFiles: true });
    const settled = await sends;
    const accepted: string[] = [];
    for (const s of settled) if (s.status === 'fulfilled' && s.value.status === 200) accepted.push((await s.value.json()).message_id);
    expect(accepted.length).toBeGreaterThan(0);

    const db = await createDatabase({ url: gw.databaseUrl });
    const queue = new Queue(gw.keys.smsQueue, { connection: { url: testRedisUrl() }, prefix: gw.keys.bullPrefix });
    try {
      for (const id of accepted) {
        expect({ id, row: (await db.repository.findById(id))?.status }).toEqual({ id, row: 'pending' });
        expect({ id, job: Boolean(await queue.getJob(id)) }).toEqual({ id, job: true });
      }
      const counts = await db.repository.countByStatus();
      const jobs = await queue.getJobCounts('waiting');
      // Rows without a job are allowed only for sends that were not confirmed; the sweeper covers them.
      expect(counts.pending).toBeGreaterThanOrEqual(accepted.length);
      expect(jobs.waiting).toBeGreaterThanOrEqual(accepted.length);
    } finally {
      await queue.close();
      await db.close();
      gw.removeFiles();
    }
  });
});
