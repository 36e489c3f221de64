import { randomUUID } from 'node:crypto';
import { SharedRateLimiter } from '@twillow/rate-limit';
import { ProviderClient } from '@twillow/providers';
import { OutcomePublisher } from '@twillow/redis';
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
    const outcome = await useCase.execute(data, undefined, true);
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
    const outcome = await useCase.execute(data, undefined, true);
    expect(outcome).toEqual({ kind: 'failed', permanent: false, reason: 'provider3: HTTP 503', attempts: 3 });
    const row = await h.db.repository.findWithResponses(id);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, provider: 'provider3', lastError: 'provider3: HTTP 503' });
    expect(row?.responses.map((r) => r.outcome)).toEqual(['server_error', 'server_error', 'server_error']);
  });

  it('asks to wait (not fail) when no provider is available', async () => {
    for (const p of ['provider1', 'provider2', 'provider3']) unavailable.add(p);
    const { id, data } = await stored();
    expect(await useCase.execute(data, undefined, true)).toEqual({ kind: 'retry-later', reason: 'no-provider', delayMs: 250 });
    expect((await h.db.repository.findWithResponses(id))?.responses).toHaveLength(0);
    expect(['pending', 'processing']).toContain((await h.db.repository.findById(id))?.status);
  });

  it('leaves a message alone while another dispatcher holds its send lease', async () => {
    const { id, data } = await stored();
    await h.redis.set(h.keys.sendLease(id), 'someone-else', 'PX', 3000);
    const outcome = await useCase.execute(data, undefined, true);
    expect(outcome).toMatchObject({ kind: 'retry-later', reason: 'leased' });
    expect((await h.db.repository.findById(id))?.status).toBe('pending');
    expect(await h.redis.get(h.keys.sendLease(id))).toBe('someone-else');
  });

  it('drops a job without a stored request once the grace period is over', async () => {
    const data = { message_id: randomUUID(), phone: '+8801921317475', text: 'hi', enqueued_at: Date.now() };
    expect(await useCase.execute(data, undefined, true)).toMatchObject({ kind: 'retry-later', reason: 'missing-request' });
    expect(await useCase.execute({ ...data, enqueued_at: Date.now() - 5000 }, undefined, true)).toEqual({ kind: 'missing-request' });
  });
});
