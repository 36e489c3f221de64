import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { SharedRateLimiter } from '@twillow/rate-limit';
import type { RedisKeys } from '@twillow/redis';
import { uniquePrefix, waitFor } from '@twillow/testing';
import { captureLogger, getJson, Outcomes, redisKeys, startMonitor, testClients, type RunningMonitor } from './helpers';

const quietLogger = captureLogger([]);
const ADMIN = 'admin-key-for-the-dashboard-test';

/** Reads server-sent events from a streamed response until `count` events arrived. */
async function readEvents(res: Response, count: number): Promise<{ event: string; data: any }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: any }[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

describe('dashboard with no key configured (local first try)', () => {
  let monitor: RunningMonitor;
  beforeAll(async () => {
    monitor = await startMonitor(uniquePrefix('dash-open'));
  });
  afterAll(() => monitor.close());

  it('serves the page, the data and the root redirect without any key', async () => {
    const page = await fetch(`${monitor.server.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<title>Twillow · Operations</title>');
    expect(html).not.toContain('/dashboard/logout');
    expect((await getJson(`${monitor.server.url}/dashboard/data`)).status).toBe(200);
    const root = await fetch(`${monitor.server.url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/dashboard']);
  });
});

describe('dashboard behind ADMIN_API_KEY', () => {
  let monitor: RunningMonitor;
  let url: string;
  beforeAll(async () => {
    monitor = await startMonitor(uniquePrefix('dash-auth'), { ADMIN_API_KEY: ADMIN, API_KEYS: 'client-key' });
    url = monitor.server.url;
  });
  afterAll(() => monitor.close());

  it('answers the page without a key with a 401 sign-in form, and the data with a JSON 401', async () => {
    const page = await fetch(`${url}/dashboard`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('action="/dashboard/login"');
    const data = await getJson(`${url}/dashboard/data`);
    expect(data).toMatchObject({ status: 401, body: { code: 'AUTH.UNAUTHORIZED' } });
    expect((await fetch(`${url}/dashboard/events`)).status).toBe(401);
  });

  it('exchanges ?key=<admin key> for an HttpOnly SameSite=Strict cookie and redirects to a URL without the key', async () => {
    const res = await fetch(`${url}/dashboard?key=${encodeURIComponent(ADMIN)}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^twillow_dashboard=\d+\.[\w-]+;/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/dashboard/);
    expect(cookie).not.toContain(ADMIN);
    const session = cookie.split(';')[0];
    expect((await fetch(`${url}/dashboard`, { headers: { cookie: session } })).status).toBe(200);
    expect((await getJson(`${url}/dashboard/data`, { headers: { cookie: session } })).status).toBe(200);
  });

  it('refuses a wrong key, an API key and a forged cookie', async () => {
    expect((await fetch(`${url}/dashboard?key=wrong`, { redirect: 'manual' })).status).toBe(401);
    expect((await getJson(`${url}/dashboard/data`, { headers: { authorization: 'Bearer client-key' } })).status).toBe(403);
    const forged = `twillow_dashboard=${Date.now() + 60_000}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
    expect((await fetch(`${url}/dashboard`, { headers: { cookie: forged } })).status).toBe(401);
  });

  it('accepts the admin key as a Bearer header (scripts) and through the sign-in form', async () => {
    expect((await getJson(`${url}/dashboard/data`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    const login = await fetch(`${url}/dashboard/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN }).toString(),
    });
    expect(login.status).toBe(303);
    const session = login.headers.get('set-cookie')!.split(';')[0];
    expect((await fetch(`${url}/dashboard`, { headers: { cookie: session } })).status).toBe(200);
    const bad = await fetch(`${url}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'key=nope',
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
  });
});

describe('GET /dashboard/data and /dashboard/events', () => {
  const clients = testClients(quietLogger);
  let keys: RedisKeys;
  let redis: Redis;
  let monitor: RunningMonitor;
  let queue: Queue;
  let limiter: SharedRateLimiter;

  beforeAll(async () => {
    const prefix = uniquePrefix('dash-data');
    keys = redisKeys(prefix);
    redis = clients.make('test');
    // Margin 500 ms: the 1.5 s limiter window comfortably covers acquire-then-read on a loaded machine.
    monitor = await startMonitor(prefix, { PROVIDER2_RATE_LIMIT: '7', TOTAL_RATE_LIMIT: '20', RATE_LIMIT_MARGIN_MS: '500', HEALTH_COOLDOWN_MS: '10000' });
    queue = new Queue(keys.smsQueue, { prefix: keys.bullPrefix, connection: clients.make('queue') });
    limiter = new SharedRateLimiter(
      { redis, keys, logger: quietLogger },
      { providers: [{ id: 'provider2', ratePerSecond: 7, weight: 1 }], totalPerSecond: 20, marginMs: 500 },
    );
  });

  afterAll(async () => {
    limiter.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await monitor.close();
    await clients.closeAll();
  });

  it('shows failures with their reasons, newest first, queue depth and send rate against the configured limits', async () => {
    const outcomes = new Outcomes(redis, keys);
    await outcomes.send('provider1', 'success', 3);
    await outcomes.publisher.publish({ provider: 'provider1', kind: 'timeout', latency_ms: 500, at: Date.now(), message_id: 'm-1' });
    await outcomes.publisher.publish({ provider: 'provider3', kind: 'server_error', latency_ms: 12, at: Date.now(), message_id: 'm-2', error: 'HTTP 503' });
    await queue.add('sms', { id: 'a' }, { jobId: 'a' });
    await queue.add('sms', { id: 'b' }, { jobId: 'b', delay: 60_000 });
    await waitFor(() => monitor.service.monitor.recentFailures().length === 2, 5000);

    for (let i = 0; i < 3; i++) await limiter.acquire({ only: 'provider2' });
    const { status, body } = await getJson(`${monitor.server.url}/dashboard/data`);

    expect(status).toBe(200);
    expect(body.failures).toEqual([
      expect.objectContaining({ provider: 'provider3', kind: 'server_error', message_id: 'm-2', error: 'HTTP 503', latency_ms: 12 }),
      expect.objectContaining({ provider: 'provider1', kind: 'timeout', message_id: 'm-1', latency_ms: 500 }),
    ]);
    expect(body.failures[1].error).toBeUndefined();
    expect(body.queue).toEqual({ waiting: 1, active: 0, delayed: 1, failed: 0, completed: 0 });
    const p2 = body.providers.find((p: { provider: string }) => p.provider === 'provider2');
    expect(p2.rate).toMatchObject({ count: 3, limit: 7, window_ms: 1500 });
    expect(body.global).toMatchObject({ count: 3, limit: 20 });
    expect(p2.share).toBe(1);
    const p1 = body.providers.find((p: { provider: string }) => p.provider === 'provider1');
    expect(p1).toMatchObject({ state: 'available', window: { samples: 4, failures: 1 } });
    expect(body.problems).toEqual([]);
  });

  it('streams a snapshot at once and then one per interval as server-sent events', async () => {
    const res = await fetch(`${monitor.server.url}/dashboard/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(res, 2);
    expect(events.map((e) => e.event)).toEqual(['snapshot', 'snapshot']);
    expect(events[0].data.providers.map((p: { provider: string }) => p.provider)).toEqual(['provider1', 'provider2', 'provider3']);
    expect(events[1].data.generated_at).toBeGreaterThan(events[0].data.generated_at);
  });
});
