import { startGateway, VALID_PHONE, type TestGateway } from './harness';

describe('Idempotency-Key on POST /api/sms/send', () => {
  let gw: TestGateway;
  let replica: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { INGEST_RATE_LIMIT: '100000' } });
    // A second replica of the same deployment: same Redis prefix, same database file.
    replica = await startGateway({ prefix: gw.prefix, databaseUrl: gw.databaseUrl, env: { INGEST_RATE_LIMIT: '100000' } });
  });
  afterAll(async () => {
    await replica.close();
    await gw.close();
  });

  it('replays the first message id for the same key and body and queues nothing new', async () => {
    const headers = { 'idempotency-key': 'order-1001' };
    const first = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'your code is 1234' }, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstBody = await first.json();
    const rows = await gw.rowCount();
    const jobs = await gw.jobCount();

    // The same message written in E.164 is the same request.
    const again = await gw.post('/api/sms/send', { phone: '+8801921317475', text: 'your code is 1234' }, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const againBody = await again.json();
    expect(againBody).toMatchObject({ message_id: firstBody.message_id, queued: true, success: true, message: 'SMS queued for sending' });
    expect(await gw.rowCount()).toBe(rows);
    expect(await gw.jobCount()).toBe(jobs);
  });

  it('answers 409 SMS.IDEMPOTENCY_CONFLICT for the same key with a different body', async () => {
    const headers = { 'idempotency-key': 'order-1002' };
    expect((await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'one' }, headers)).status).toBe(200);
    const rows = await gw.rowCount();
    const jobs = await gw.jobCount();
    const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'two' }, headers);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ status: 409, code: 'SMS.IDEMPOTENCY_CONFLICT' });
    expect(await gw.rowCount()).toBe(rows);
    expect(await gw.jobCount()).toBe(jobs);
  });

  it('turns 10 concurrent duplicates on one replica into one row and one job, all with the same message id', async () => {
    const rows = await gw.rowCount();
    const jobs = await gw.jobCount();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'concurrent' }, { 'idempotency-key': 'burst-1' })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const ids = new Set(await Promise.all(answers.map(async (a) => (await a.json()).message_id as string)));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    expect(await gw.rowCount()).toBe(rows + 1);
    expect(await gw.jobCount()).toBe(jobs + 1);
  });

  it('turns 10 concurrent duplicates spread over two replicas into one row and one job (unique index decides)', async () => {
    const rows = await gw.rowCount();
    const jobs = await gw.jobCount();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? gw : replica).post('/api/sms/send', { phone: VALID_PHONE, text: 'across replicas' }, { 'idempotency-key': 'burst-2' }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const ids = new Set(await Promise.all(answers.map(async (a) => (await a.json()).message_id as string)));
    expect(ids.size).toBe(1);
    expect(await gw.rowCount()).toBe(rows + 1);
    expect(await gw.jobCount()).toBe(jobs + 1);
  });

  it('keeps requests without a key independent (two sends, two messages)', async () => {
    const a = await (await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'same' })).json();
    const b = await (await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'same' })).json();
    expect(a.message_id).not.toBe(b.message_id);
  });
});
