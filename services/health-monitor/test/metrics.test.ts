import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import type { RedisKeys } from '@twillow/redis';
import { uniquePrefix, waitFor } from '@twillow/testing';
import { captureLogger, Outcomes, redisKeys, startMonitor, testClients, type RunningMonitor } from './helpers';

const quietLogger = captureLogger([]);

/** The value of the sample of `name` whose labels include all of `labels`, from the Prometheus text format. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics on the health monitor', () => {
  const clients = testClients(quietLogger);
  let keys: RedisKeys;
  let redis: Redis;
  let monitor: RunningMonitor;
  let queue: Queue;

  beforeAll(async () => {
    const prefix = uniquePrefix('hm-metrics');
    keys = redisKeys(prefix);
    redis = clients.make('test');
    monitor = await startMonitor(prefix, { HEALTH_COOLDOWN_MS: '10000', HEALTH_MAX_COOLDOWN_MS: '10000' });
    queue = new Queue(keys.smsQueue, { prefix: keys.bullPrefix, connection: clients.make('queue') });
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await monitor.close();
    await clients.closeAll();
  });

  it('counts requests by route and status, shows provider availability and queue depth, and process metrics', async () => {
    const url = monitor.server.url;
    // Provider1 fails every request: 12 server errors >= 10 samples at ratio 1.
    await new Outcomes(redis, keys).send('provider1', 'server_error', 12);
    await waitFor(async () => (await monitor.service.monitor.report('provider1'))?.state === 'unavailable', 10_000, 50, 'provider1 unavailable');
    await queue.add('sms', { id: 'a' }, { jobId: 'a' });
    await queue.add('sms', { id: 'b' }, { jobId: 'b' });
    await queue.add('sms', { id: 'c' }, { jobId: 'c', delay: 60_000 });
    expect((await fetch(`${url}/status`)).status).toBe(200);
    expect((await fetch(`${url}/status`)).status).toBe(200);
    expect((await fetch(`${url}/status/provider9`)).status).toBe(404);

    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();

    const service = 'health-monitor';
    expect(sample(text, 'twillow_http_requests_total', { method: 'GET', route: '/status', status: '200', service })).toBe(2);
    expect(sample(text, 'twillow_http_requests_total', { method: 'GET', route: '/status/:provider', status: '404', service })).toBe(1);
    expect(sample(text, 'twillow_provider_available', { provider: 'provider1', service })).toBe(0);
    expect(sample(text, 'twillow_provider_available', { provider: 'provider2', service })).toBe(1);
    expect(sample(text, 'twillow_provider_available', { provider: 'provider3', service })).toBe(1);
    expect(sample(text, 'twillow_queue_jobs', { state: 'waiting', service })).toBe(2);
    expect(sample(text, 'twillow_queue_jobs', { state: 'delayed', service })).toBe(1);
    expect(sample(text, 'twillow_queue_jobs', { state: 'failed', service })).toBe(0);
    expect(sample(text, 'process_cpu_user_seconds_total', { service })).toBeGreaterThan(0);
  });

  it('refreshes the queue gauge on every scrape', async () => {
    await queue.add('sms', { id: 'd' }, { jobId: 'd' });
    const text = await (await fetch(`${monitor.server.url}/metrics`)).text();
    expect(sample(text, 'twillow_queue_jobs', { state: 'waiting', service: 'health-monitor' })).toBe(3);
  });
});
