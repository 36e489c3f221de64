import type { AvailabilityEvent, ProviderHealthState } from '@twillow/contracts';
import { waitFor } from '@twillow/testing';
import { startGateway, VALID_PHONE, type TestGateway } from './harness';

describe('ingest rate limit', () => {
  let gw: TestGateway;
  let replica: TestGateway;
  beforeAll(async () => {
    // A long window so the test counts requests, not time.
    const env = { INGEST_RATE_LIMIT: '4', INGEST_RATE_WINDOW_MS: '60000' };
    gw = await startGateway({ env });
    replica = await startGateway({ prefix: gw.prefix, databaseUrl: gw.databaseUrl, env });
  });
  afterAll(async () => {
    await replica.close();
    await gw.close();
  });

  it('returns 429 with Retry-After, draft-8 RateLimit headers and a JSON body once the limit shared by all replicas is spent', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await (i % 2 ? replica : gw).post('/api/sms/send', { phone: VALID_PHONE, text: `n${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200]);

    const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'one too many' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get('ratelimit')).toMatch(/^"ingest"; r=0; t=\d+$/);
    expect(res.headers.get('ratelimit-policy')).toMatch(/^"ingest"; q=4; w=60/);
    expect(await res.json()).toMatchObject({
      status: 429,
      code: 'RATE_LIMIT.INGEST_EXCEEDED',
      details: { current_count: 5, limit: 4, window_ms: 60000 },
    });
    expect(await gw.rowCount()).toBe(4);
    expect(await gw.jobCount()).toBe(4);

    const onReplica = await replica.post('/api/sms/send', { phone: VALID_PHONE, text: 'replica too' });
    expect(onReplica.status).toBe(429);
  });

  it('does not count invalid requests against the limit (validation runs first)', async () => {
    const count = async () => (await (await gw.get('/api/sms/rate-limits')).json()).ingest.current_count as number;
    const before = await count();
    const res = await gw.post('/api/sms/send', { phone: 'nope', text: 'x' });
    expect(res.status).toBe(400);
    expect(await count()).toBe(before);
  });

  it('shows the ingest counter in /api/sms/rate-limits without consuming it', async () => {
    const first = await (await gw.get('/api/sms/rate-limits')).json();
    const second = await (await gw.get('/api/sms/rate-limits')).json();
    expect(first.ingest).toMatchObject({ limit: 4, window_ms: 60000, fallback: false, is_limited: true });
    expect(second.ingest.current_count).toBe(first.ingest.current_count);
  });
});

describe('provider availability', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { INGEST_RATE_LIMIT: '100000' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  const state = (provider: ProviderHealthState['provider'], s: ProviderHealthState['state']): ProviderHealthState => ({
    provider,
    state: s,
    since: Date.now(),
    reason: s === 'unavailable' ? 'failure ratio 0.9 >= 0.5' : 'recovered',
    updated_at: Date.now(),
    cooldown_ms: 5000,
    probes_remaining: s === 'probing' ? 3 : 0,
  });

  /** Does what the health monitor does: store the state, then publish the transition. */
  async function publish(s: ProviderHealthState, previous: ProviderHealthState['state']): Promise<void> {
    await gw.redis.hset(gw.keys.healthState, s.provider, JSON.stringify(s));
    const event: AvailabilityEvent = { provider: s.provider, previous, state: s };
    await gw.redis.publish(gw.keys.availabilityChannel, JSON.stringify(event));
  }

  it('answers 503 PROVIDER.NONE_AVAILABLE while every provider is unavailable, and accepts again once one recovers', async () => {
    for (const p of ['provider1', 'provider2', 'provider3'] as const) await publish(state(p, 'unavailable'), 'available');
    await waitFor(async () => (await (await gw.get('/api/sms/health')).json()).available_count === 0, 5000, 50, 'all providers unavailable');

    const rows = await gw.rowCount();
    const jobs = await gw.jobCount();
    const refused = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'nobody home' });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ status: 503, code: 'PROVIDER.NONE_AVAILABLE' });
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await gw.rowCount()).toBe(rows);
    expect(await gw.jobCount()).toBe(jobs);

    const single = await (await gw.get('/api/sms/health/provider2')).json();
    expect(single).toMatchObject({ provider: 'provider2', state: 'unavailable', is_healthy: false, stored_state: 'unavailable', stale: false });

    await publish(state('provider2', 'probing'), 'unavailable');
    await waitFor(async () => (await (await gw.get('/api/sms/health/provider2')).json()).state === 'probing', 5000, 50, 'provider2 probing');
    const accepted = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'someone home' });
    expect(accepted.status).toBe(200);
  });

  it('reads the stored states at start-up (a gateway started after the transition sees it)', async () => {
    const late = await startGateway({ prefix: gw.prefix, databaseUrl: gw.databaseUrl });
    try {
      const health = await (await late.get('/api/sms/health')).json();
      expect(health.providers.provider1.state).toBe('unavailable');
      expect(health.providers.provider2.state).toBe('probing');
    } finally {
      await late.close();
    }
  });

  it('publishes a reset for the health monitor on POST /api/sms/health/{provider_id}/reset', async () => {
    const sub = gw.redis.duplicate();
    const heard: string[] = [];
    sub.on('message', (_channel: string, raw: string) => heard.push(raw));
    await sub.subscribe(gw.keys.healthCommands);
    try {
      const res = await gw.post('/api/sms/health/provider3/reset', {});
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ success: true, provider: 'provider3', monitors_notified: 1 });
      await waitFor(() => heard.length > 0, 5000, 20, 'reset command');
      expect(JSON.parse(heard[0])).toEqual({ type: 'reset', provider: 'provider3' });
    } finally {
      sub.disconnect();
    }
  });

  it('answers 404 PROVIDER.UNKNOWN for an unknown provider on the health endpoints', async () => {
    const get = await gw.get('/api/sms/health/provider9');
    expect(get.status).toBe(404);
    expect(await get.json()).toMatchObject({ code: 'PROVIDER.UNKNOWN' });
    const reset = await gw.post('/api/sms/health/..%2Fprovider1/reset', {});
    expect(reset.status).toBe(404);
  });
});
