import type { AvailabilityEvent, ProviderHealthState } from '@twillow/contracts';
import { waitFor } from '@twillow/testing';
import { startGateway, VALID_PHONE, type TestGateway } from './harness';

/** The value of one sample line of the Prometheus text, or undefined when the line is missing. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = { ...labels, service: 'ingest-gateway' };
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(got).length === Object.keys(wanted).length && Object.entries(wanted).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  let gw: TestGateway;
  const client1 = { authorization: 'Bearer client-key-1' };
  const client2 = { 'x-api-key': 'client-key-2' };
  const admin = { authorization: 'Bearer admin-key' };
  const send = (headers: Record<string, string>, phone = VALID_PHONE) => gw.post('/api/sms/send', { phone, text: 'counted' }, headers);
  const scrape = async () => {
    const res = await fetch(`${gw.url}/metrics`, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  beforeAll(async () => {
    gw = await startGateway({
      env: {
        API_KEYS: 'client-key-1,client-key-2',
        ADMIN_API_KEY: 'admin-key',
        INGEST_RATE_LIMIT: '3',
        API_KEY_RATE_LIMIT: '2',
        INGEST_RATE_WINDOW_MS: '60000', // no window ends during the test
      },
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('needs the admin key: 401 without a key, 403 with a client key', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: client1 })).status).toBe(403);
  });

  it('counts exactly the traffic the test caused: accepted sends, 429s by scope, 400s, by route pattern and status; queue depth; availability', async () => {
    // provider3 unavailable, as the health monitor would store and announce it.
    const down: ProviderHealthState = {
      provider: 'provider3',
      state: 'unavailable',
      since: Date.now(),
      reason: 'failure ratio 1 >= 0.5',
      updated_at: Date.now(),
      cooldown_ms: 60000,
      probes_remaining: 0,
    };
    await gw.redis.hset(gw.keys.healthState, 'provider3', JSON.stringify(down));
    await gw.redis.publish(gw.keys.availabilityChannel, JSON.stringify({ provider: 'provider3', previous: 'available', state: down } satisfies AvailabilityEvent));
    await waitFor(async () => ((await (await fetch(`${gw.url}/api/sms/health/provider3`, { headers: client1 })).json()) as { state: string }).state === 'unavailable', 5000, 50, 'provider3 unavailable');

    const statuses: number[] = [];
    statuses.push((await send(client1)).status, (await send(client1)).status); // 200, 200
    const keyRefused = await send(client1); // client-key-1 has used its 2
    statuses.push(keyRefused.status);
    statuses.push((await send(client2)).status); // 200: the shared limit (3) is now spent
    const globalRefused = await send(client2);
    statuses.push(globalRefused.status);
    statuses.push((await send(client1, '123')).status, (await send(client2, 'not a phone')).status); // 400s, validated before any limit
    const badId = await fetch(`${gw.url}/api/sms/requests/not-a-uuid`, { headers: client1 });
    statuses.push(badId.status);
    expect(statuses).toEqual([200, 200, 429, 200, 429, 400, 400, 400]);
    expect(await keyRefused.json()).toMatchObject({ code: 'RATE_LIMIT.KEY_EXCEEDED', details: { scope: 'key', current_count: 3, limit: 2 } });
    expect(await globalRefused.json()).toMatchObject({ code: 'RATE_LIMIT.INGEST_EXCEEDED', details: { scope: 'global', current_count: 4, limit: 3 } });

    const text = await scrape();
    expect(sample(text, 'twillow_ingest_accepted_total', {})).toBe(3);
    expect(sample(text, 'twillow_ingest_rate_limited_total', { scope: 'key' })).toBe(1);
    expect(sample(text, 'twillow_ingest_rate_limited_total', { scope: 'global' })).toBe(1);
    const http = (status: string, route = '/api/sms/send', method = 'POST') => sample(text, 'twillow_http_requests_total', { method, route, status });
    expect(http('200')).toBe(3);
    expect(http('429')).toBe(2);
    expect(http('400')).toBe(2);
    expect(http('400', '/api/sms/requests/:request_id', 'GET')).toBe(1);
    expect(text).not.toContain('route="/api/sms/requests/not-a-uuid"');
    // No dispatcher runs here: the three accepted jobs wait.
    expect(sample(text, 'twillow_queue_jobs', { state: 'waiting' })).toBe(3);
    for (const state of ['active', 'delayed', 'failed']) expect(sample(text, 'twillow_queue_jobs', { state })).toBe(0);
    expect(sample(text, 'twillow_provider_available', { provider: 'provider1' })).toBe(1);
    expect(sample(text, 'twillow_provider_available', { provider: 'provider2' })).toBe(1);
    expect(sample(text, 'twillow_provider_available', { provider: 'provider3' })).toBe(0);
    // Node's process metrics come with it.
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="ingest-gateway"\} \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="ingest-gateway"\} /m);

    // The scrape itself is counted once it answered.
    expect(sample(await scrape(), 'twillow_http_requests_total', { method: 'GET', route: '/metrics', status: '200' })).toBe(1);
  });
});
