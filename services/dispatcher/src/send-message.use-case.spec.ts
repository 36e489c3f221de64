import { randomUUID } from 'node:crypto';
import { SharedRateLimiter } from '@twillow/rate-limit';
import { ProviderClient } from '@twillow/providers';
import { OutcomePublisher } from '@twillow/redis';
import { waitFor } from '@twillow/testing';
import { quietLogger, setMode, startHarness, type Harness } from '../test/support';
import { SendMessageUseCase, type SendMessagePolicy } from './send-message.use-case';

const policy: SendMessagePolicy = {
  maxAttempts: 3,
  retryBaseDelayMs: 5,
  maxThrottled: 4,
  leaseMs: 5000,
  leaseHeadroomMs: 1000,
  noProviderDelayMs: 250,
  maxSlotWaitMs: 2000,
  missingRequestGraceMs: 1000,
  intentTtlMs: 60_000,
  sameProviderWaitMs: 3000,
  maxSameProviderResends: 1,
};

describe('SendMessageUseCase (real Redis, SQLite and provider mocks)', () => {
  let h: Harness;
  let limiter: SharedRateLimiter;
  let client: ProviderClient;
  let useCase: SendMessageUseCase;
  const unavailable = new Set<string>();

  beforeAll(async () => {
    h = await startHarness();
    const config = h.config();
    const logger = quietLogger();
    limiter = new SharedRateLimiter(
      { redis: h.redis, keys: h.keys, logger },
      { providers: config.providers, totalPerSecond: 200, marginMs: 5, currentModes: () => Object.fromEntries([...unavailable].map((p) => [p, 'excluded'])) },
    );
    client = new ProviderClient({ timeoutMs: 5000, maxSockets: 10 });
    useCase = new SendMessageUseCase(
      {
        repository: h.db.repository,
        redis: h.redis,
        keys: h.keys,
        limiter,
        client,
        providers: config.providers,
        outcomes: new OutcomePublisher(h.redis, h.keys),
        health: { effectiveState: (p) => (unavailable.has(p) ? 'unavailable' : 'available') },
        logger,
      },
      policy,
    );
  });
  afterEach(async () => {
    unavailable.clear();
    await Promise.all(h.mocks.map((m) => setMode(m, 'up')));
  });
  afterAll(async () => {
    limiter.close();
    client.close();
    await h.close();
  });

  async function stored(): Promise<{ id: string; data: { message_id: string; phone: string; text: string; enqueued_at: number } }> {
    const id = randomUUID();
    await h.db.repository.createMany([{ id, phone: '+8801921317475', phoneNormalized: '+8801921317475', text: 'hi', encoding: 'GSM-7', segments: 1 }]);
    return { id, data: { message_id: id, phone: '+8801921317475', text: 'hi', enqueued_at: Date.now() } };
  }

  it('after a 429 backs the provider off for Retry-After and sends once it may, without counting a failure', async () => {
    const { id, data } = await stored();
    // provider2 answers 429 once its 1/s mock limit is spent: spend it first.
    await fetch(`${h.mocks[1].url}/admin/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rate_limit: 1 }) });
    await fetch(h.mocks[1].sendUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '+8801921317475', text: 'x', message_id: 'spend' }) });
    unavailable.add('provider1');
    unavailable.add('provider3');
    const started = Date.now();
    const outcome = await useCase.execute(data);
    // The mock says Retry-After: 1; the limiter keeps provider2 out of rotation until then.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(outcome).toMatchObject({ kind: 'sent', provider: 'provider2', attempts: 2 });
    const row = await h.db.repository.findWithResponses(id);
    expect(row).toMatchObject({ status: 'sent', provider: 'provider2', attempts: 2, lastError: null });
    expect(row?.responses.map((r) => [r.provider, r.outcome, r.statusCode])).toEqual([
      ['provider2', 'throttled', 429],
      ['provider2', 'success', 200],
    ]);
    const events = (await h.redis.xrange(h.keys.outcomeStream, '-', '+')).map(([, f]) => JSON.parse(f[1]) as { kind: string; message_id: string });
    expect(events.filter((e) => e.message_id === id).map((e) => e.kind)).toEqual(['throttled', 'success']);
  });

  it('fails the message after MAX_ATTEMPTS transient failures, one stored response each', async () => {
    await setMode(h.mocks[2], 'down');
    unavailable.add('provider1');
    unavailable.add('provider2');
    const { id, data } = await stored();
    const outcome = await useCase.execute(data);
    expect(outcome).toEqual({ kind: 'failed', permanent: false, reason: 'provider3: HTTP 503', attempts: 3 });
    const row = await h.db.repository.findWithResponses(id);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, provider: 'provider3', lastError: 'provider3: HTTP 503' });
    expect(row?.responses.map((r) => r.outcome)).toEqual(['server_error', 'server_error', 'server_error']);
  });

  it('asks to wait (not fail) when no provider is available', async () => {
    for (const p of ['provider1', 'provider2', 'provider3']) unavailable.add(p);
    const { id, data } = await stored();
    expect(await useCase.execute(data)).toEqual({ kind: 'retry-later', reason: 'no-provider', delayMs: 250 });
    expect((await h.db.repository.findWithResponses(id))?.responses).toHaveLength(0);
    // Nothing was attempted, so nothing was written: the request is still pending.
    expect((await h.db.repository.findById(id))?.status).toBe('pending');
  });

  it('leaves a message alone while another dispatcher holds its send lease', async () => {
    const { id, data } = await stored();
    await h.redis.set(h.keys.sendLease(id), 'someone-else', 'PX', 3000);
    const outcome = await useCase.execute(data);
    expect(outcome).toMatchObject({ kind: 'retry-later', reason: 'leased' });
    expect((await h.db.repository.findById(id))?.status).toBe('pending');
    expect(await h.redis.get(h.keys.sendLease(id))).toBe('someone-else');
  });

  const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const mockStats = async () => Promise.all(h.mocks.map(async (m) => (await (await fetch(`${m.url}/admin/stats`)).json()) as { received: number; accepted: number; deduplicated: number; duplicates: number }));
  const resetMocks = () => Promise.all(h.mocks.map(async (m) => Promise.all([post(`${m.url}/admin/reset`, {}), post(`${m.url}/admin/config`, { rate_limit: 50 })])));
  const intent = async (id: string) => h.redis.get(h.keys.sendIntent(id));

  it('resends to the same provider after an ambiguous timeout, which dedupes it: accepted once, one reference', async () => {
    await resetMocks();
    const shortClient = new ProviderClient({ timeoutMs: 300, maxSockets: 10 });
    const config = h.config();
    const impatient = new SendMessageUseCase(
      {
        repository: h.db.repository,
        redis: h.redis,
        keys: h.keys,
        limiter,
        client: shortClient,
        providers: config.providers,
        outcomes: new OutcomePublisher(h.redis, h.keys),
        health: { effectiveState: (p) => (unavailable.has(p) ? 'unavailable' : 'available') },
        logger: quietLogger(),
      },
      { ...policy, retryBaseDelayMs: 1 },
    );
    try {
      // provider2 takes the message but answers after our timeout; the retry may pick any provider.
      await setMode(h.mocks[1], 'slow');
      await post(`${h.mocks[1].url}/admin/config`, { slow_ms: 1500 });
      unavailable.add('provider1');
      unavailable.add('provider3');
      const { id, data } = await stored();
      const running = impatient.execute(data);
      await waitFor(async () => (await mockStats())[1].accepted === 1, 5000, 5, 'provider2 to accept');
      unavailable.clear();
      await setMode(h.mocks[1], 'up');

      const outcome = await running;

      expect(outcome).toMatchObject({ kind: 'sent', provider: 'provider2', attempts: 2 });
      const row = await h.db.repository.findWithResponses(id);
      expect(row).toMatchObject({ status: 'sent', provider: 'provider2', attempts: 2 });
      expect(row?.responses.map((r) => [r.provider, r.outcome])).toEqual([
        ['provider2', 'timeout'],
        ['provider2', 'success'],
      ]);
      expect(JSON.parse(row?.responses[1].body ?? '{}')).toMatchObject({ message_id: id, deduplicated: true });
      const [p1, p2, p3] = await mockStats();
      expect([p1.received, p3.received]).toEqual([0, 0]);
      expect(p2).toMatchObject({ received: 2, accepted: 1, deduplicated: 1, duplicates: 0 });
      expect(await intent(id)).toBeNull();
    } finally {
      shortClient.close();
    }
  });

  it('resends a message whose previous run died mid-send (intent left, no outcome) to that provider only', async () => {
    await resetMocks();
    const messages = await Promise.all([1, 2, 3, 4, 5, 6].map(() => stored()));
    for (const { id, data } of messages) {
      // What a dispatcher killed after the provider accepted, before it recorded anything, leaves behind.
      await post(h.mocks[2].sendUrl, { phone: data.phone, text: data.text, message_id: id });
      await h.redis.set(h.keys.sendIntent(id), `provider3 ${JSON.stringify({ attempt: 1, since: Date.now(), resends: 0 })}`, 'PX', 60_000);
    }

    const outcomes = await Promise.all(messages.map(({ data }) => useCase.execute(data)));

    expect(outcomes.map((o) => o.kind === 'sent' && o.provider)).toEqual(Array(6).fill('provider3'));
    const [p1, p2, p3] = await mockStats();
    expect([p1.received, p2.received]).toEqual([0, 0]);
    expect(p3).toMatchObject({ accepted: 6, deduplicated: 6, duplicates: 0 });
    for (const { id } of messages) {
      expect(await h.db.repository.findById(id)).toMatchObject({ status: 'sent', provider: 'provider3', attempts: 1 });
      expect(await intent(id)).toBeNull();
    }
  });

  it('waits for the provider of an unconfirmed attempt while it is unavailable, then falls back elsewhere after sameProviderWaitMs', async () => {
    await resetMocks();
    const { id, data } = await stored();
    const left = `provider1 ${JSON.stringify({ attempt: 1, since: Date.now(), resends: 0 })}`;
    await h.redis.set(h.keys.sendIntent(id), left, 'PX', 60_000);
    unavailable.add('provider1');

    expect(await useCase.execute(data)).toEqual({ kind: 'retry-later', reason: 'no-provider', delayMs: 250 });
    expect(await intent(id)).toBe(left);
    expect((await mockStats()).map((s) => s.received)).toEqual([0, 0, 0]);

    // The same, once the unconfirmed attempt is older than sameProviderWaitMs (3 s here).
    await h.redis.set(h.keys.sendIntent(id), `provider1 ${JSON.stringify({ attempt: 1, since: Date.now() - 3500, resends: 0 })}`, 'PX', 60_000);
    const outcome = await useCase.execute(data);

    expect(outcome).toMatchObject({ kind: 'sent', attempts: 1 });
    expect(['provider2', 'provider3']).toContain((outcome as { provider: string }).provider);
    expect(await intent(id)).toBeNull();
  });

  it('drops a job without a stored request once the grace period is over', async () => {
    const data = { message_id: randomUUID(), phone: '+8801921317475', text: 'hi', enqueued_at: Date.now() };
    expect(await useCase.execute(data)).toMatchObject({ kind: 'retry-later', reason: 'missing-request' });
    expect(await useCase.execute({ ...data, enqueued_at: Date.now() - 5000 })).toEqual({ kind: 'missing-request' });
  });
});
