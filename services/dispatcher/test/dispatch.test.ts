import { outcomeEventSchema } from '@twillow/contracts';
import { maxInWindow, setMode, startHarness, type Harness } from './support';

interface ResponseRow {
  request_id: string;
  provider: string;
  attempt: number;
  status_code: number | null;
  outcome: string;
}

function responses(h: Harness): ResponseRow[] {
  return h.sqlite.prepare('SELECT request_id, provider, attempt, status_code, outcome FROM sms_responses ORDER BY id').all() as ResponseRow[];
}

async function outcomeEvents(h: Harness) {
  const entries = (await h.redis.xrange(h.keys.outcomeStream, '-', '+')) as [string, string[]][];
  return entries.map(([, fields]) => outcomeEventSchema.parse(JSON.parse(fields[1])));
}

describe('dispatcher with three healthy providers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.dispatcher();
  });
  afterAll(() => h.close());

  it('sends every queued message once and records the row, the response and the outcome event', async () => {
    const ids = await h.enqueue(30);
    await h.waitForTerminal(ids, 40000);

    const rows = await Promise.all(ids.map((id) => h.db.repository.findWithResponses(id)));
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
      expect(['provider1', 'provider2', 'provider3']).toContain(row?.provider);
      expect(row?.responses).toHaveLength(1);
      expect(row?.responses[0]).toMatchObject({ provider: row?.provider, attempt: 1, statusCode: 200, outcome: 'success', error: null });
      // The provider's reference is kept in the stored answer body.
      expect(JSON.parse(row?.responses[0].body ?? '{}')).toMatchObject({ status: 'accepted', message_id: row?.id, id: expect.any(String) });
    }

    const stats = await h.stats();
    const acceptedIds = (await Promise.all(h.mocks.map(async (m) => ((await (await fetch(`${m.url}/admin/accepted`)).json()) as { message_ids: string[] }).message_ids))).flat();
    expect(acceptedIds.sort()).toEqual([...ids].sort());
    expect(stats.reduce((n, s) => n + s.duplicates, 0)).toBe(0);

    const events = await outcomeEvents(h);
    expect(events.filter((e) => ids.includes(e.message_id ?? ''))).toHaveLength(30);
    expect(events.every((e) => e.kind === 'success' && e.latency_ms >= 0)).toBe(true);
  }, 60000);

  it('does not send again a message whose stored request is already sent (a redelivered job)', async () => {
    const [id] = await h.enqueue(1);
    await h.waitForTerminal([id], 10000);
    const before = (await h.stats()).reduce((n, s) => n + s.received, 0);
    // The same job again, as after a crash between the provider's answer and the job's completion.
    await h.queue.add('send', { message_id: id, phone: '+8801921100000', text: 'again', enqueued_at: Date.now() }, { jobId: `${id}-again`, attempts: 1 });
    await new Promise((r) => setTimeout(r, 500));
    const job = await h.queue.getJob(`${id}-again`);
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue).toEqual({ status: 'already-done', stored_status: 'sent' });
    expect((await h.stats()).reduce((n, s) => n + s.received, 0)).toBe(before);
    expect((await h.db.repository.findWithResponses(id))?.responses).toHaveLength(1);
  });
});

describe('dispatcher with provider2 down and no health monitor', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{}, { mode: 'down' }, {}]);
    await h.dispatcher();
  });
  afterAll(() => h.close());

  it('sends everything through provider1 and provider3, trying provider2 at most once per message', async () => {
    const ids = await h.enqueue(90);
    await h.waitForTerminal(ids, 40000);
    expect(h.statuses()).toEqual({ sent: 90 });

    const rows = responses(h);
    const success = rows.filter((r) => r.outcome === 'success');
    expect(success).toHaveLength(90);
    expect(new Set(success.map((r) => r.provider))).toEqual(new Set(['provider1', 'provider3']));
    const toProvider2 = rows.filter((r) => r.provider === 'provider2');
    expect(toProvider2.every((r) => r.outcome === 'server_error' && r.status_code === 503)).toBe(true);
    // The provider that just failed a message is excluded from its retry: at most one try each.
    const perMessage = new Map<string, number>();
    for (const r of toProvider2) perMessage.set(r.request_id, (perMessage.get(r.request_id) ?? 0) + 1);
    expect(Math.max(0, ...perMessage.values())).toBeLessThanOrEqual(1);

    const [p1, p2, p3] = await h.stats();
    expect(p2.received).toBe(toProvider2.length);
    expect(p2.received).toBeLessThanOrEqual(90);
    expect(p1.accepted + p3.accepted).toBe(90);
    expect(p1.duplicates + p3.duplicates).toBe(0);
    const events = await h.redis.xlen(h.keys.outcomeStream);
    expect(events).toBe(rows.length);
  }, 60000);
});

describe('dispatcher with provider1 rejecting every message', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{ mode: 'reject' }, {}, {}]);
    await h.dispatcher();
  });
  afterAll(() => h.close());

  it('fails provider1 messages at once with one response row each and sends the rest', async () => {
    const ids = await h.enqueue(60);
    await h.waitForTerminal(ids, 40000);
    const rows = responses(h);
    const rejected = rows.filter((r) => r.provider === 'provider1');
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.every((r) => r.outcome === 'rejected' && r.status_code === 400)).toBe(true);

    const failedIds = new Set(rejected.map((r) => r.request_id));
    for (const id of failedIds) {
      const row = await h.db.repository.findWithResponses(id);
      expect(row).toMatchObject({ status: 'failed', provider: 'provider1', attempts: 1 });
      expect(row?.lastError).toMatch(/provider1: HTTP 400/);
      expect(row?.responses).toHaveLength(1);
      const job = await h.queue.getJob(id);
      expect(await job?.getState()).toBe('failed');
      expect(job?.attemptsMade).toBe(1);
    }
    expect(h.statuses()).toEqual({ failed: failedIds.size, sent: 60 - failedIds.size });
    const [p1, p2, p3] = await h.stats();
    expect(p1.received).toBe(failedIds.size);
    expect(p2.accepted + p3.accepted).toBe(60 - failedIds.size);
  }, 60000);
});

describe('dispatcher with weights 2/1/1', () => {
  let h: Harness;
  beforeAll(async () => {
    // Limits far above the demand: weights decide the split only while every provider has room
    // (a provider at its limit or pace is skipped, by design).
    h = await startHarness([{ rateLimit: 2000 }, { rateLimit: 2000 }, { rateLimit: 2000 }]);
    await h.dispatcher({ PROVIDER_WEIGHTS: '2,1,1', PROVIDER_RATE_LIMIT: '2000', TOTAL_RATE_LIMIT: '6000' });
  });
  afterAll(() => h.close());

  it('splits the traffic about 50/25/25', async () => {
    const ids = await h.enqueue(200);
    await h.waitForTerminal(ids, 40000);
    expect(h.statuses()).toEqual({ sent: 200 });
    const counts = h.sqlite.prepare("SELECT provider, count(*) AS n FROM sms_requests WHERE status = 'sent' GROUP BY provider").all() as { provider: string; n: number }[];
    const share = Object.fromEntries(counts.map((c) => [c.provider, c.n / 200]));
    expect(share.provider1).toBeGreaterThan(0.47);
    expect(share.provider1).toBeLessThan(0.53);
    expect(share.provider2).toBeGreaterThan(0.22);
    expect(share.provider2).toBeLessThan(0.28);
    expect(share.provider3).toBeGreaterThan(0.22);
    expect(share.provider3).toBeLessThan(0.28);
    expect(maxInWindow((await h.arrivals())[0])).toBeLessThanOrEqual(2000);
  }, 60000);
});
