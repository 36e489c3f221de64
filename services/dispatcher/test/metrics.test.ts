import { composeDispatcher, type Dispatcher } from '../src/compose';
import { quietLogger, startHarness, type Harness } from './support';

/** The value of one sample line of the Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((w) => inside.split(',').includes(w))) return Number(line.slice(line.indexOf('}') + 1));
  }
  return undefined;
}

describe('dispatcher /metrics', () => {
  let h: Harness;
  let dispatcher: Dispatcher;
  let url: string;

  beforeAll(async () => {
    h = await startHarness([{}, {}, { mode: 'reject' }]);
    dispatcher = composeDispatcher(h.config({ API_KEYS: 'user-key', ADMIN_API_KEY: 'admin-key', PROVIDER_WEIGHTS: '1,1,1' }), { logger: quietLogger() });
    const { port } = await dispatcher.start();
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await dispatcher.stop();
    await h.close();
  });

  it('needs the admin key', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { 'X-API-Key': 'user-key' } })).status).toBe(403);
  });

  it('counts the sends, outcomes, finished messages and limiter waits that a run caused', async () => {
    const ids = await h.enqueue(30);
    await h.waitForTerminal(ids, 40000);
    const statuses = h.statuses();
    const res = await fetch(`${url}/metrics`, { headers: { Authorization: 'Bearer admin-key' } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const svc = { service: 'dispatcher' };
    const rejected = sample(text, 'twillow_provider_sends_total', { ...svc, provider: 'provider3', outcome: 'rejected' }) ?? 0;
    const ok1 = sample(text, 'twillow_provider_sends_total', { ...svc, provider: 'provider1', outcome: 'success' }) ?? 0;
    const ok2 = sample(text, 'twillow_provider_sends_total', { ...svc, provider: 'provider2', outcome: 'success' }) ?? 0;
    // provider3 rejects every message it gets; each such message fails at once with one request.
    expect(rejected).toBe(statuses.failed ?? 0);
    expect(ok1 + ok2).toBe(statuses.sent ?? 0);
    expect(ok1 + ok2 + rejected).toBe(30);
    expect(sample(text, 'twillow_messages_finished_total', { ...svc, status: 'sent' })).toBe(statuses.sent);
    expect(sample(text, 'twillow_messages_finished_total', { ...svc, status: 'failed' })).toBe(statuses.failed);
    expect(sample(text, 'twillow_provider_send_duration_seconds_count', { ...svc, provider: 'provider1' })).toBe(ok1);
    expect(sample(text, 'twillow_rate_limiter_wait_seconds_count', svc)).toBe(30);
    expect(sample(text, 'twillow_queue_jobs', { ...svc, state: 'waiting' })).toBe(0);
    expect(sample(text, 'twillow_provider_available', { ...svc, provider: 'provider2' })).toBe(1);
    expect(text).toContain('process_cpu_user_seconds_total');
  }, 60000);
});
