import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createDatabase } from '@twillow/db';
import { testRedisUrl, waitFor } from '@twillow/testing';
import { startGateway, VALID_E164, VALID_PHONE, type TestGateway } from './harness';

describe('enqueue sweeper', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { INGEST_RATE_LIMIT: '100000', SWEEP_INTERVAL_MS: '200', SWEEP_AFTER_MS: '300' } });
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
    expect(gw.logs.some((l) => l.message === 'enqueue sweeper re-added jobs of pending requests that had none' && (l.message_ids as string[]).includes(id))).toBe(true);
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
    expect(await gw.gateway.sweeper.sweepOnce()).toBe(0);
    const job = await gw.gateway.queue.getJob(id);
    expect(await job?.getState()).toBe('completed');
    expect(job?.finishedOn).toBe(finishedOn);
    expect(gw.logs.some((l) => Array.isArray(l.message_ids) && (l.message_ids as string[]).includes(id))).toBe(false);
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
