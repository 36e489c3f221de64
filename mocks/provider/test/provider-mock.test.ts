import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from '@twillow/logger';
import { startProviderMock, type MockStats, type ProviderMockOptions, type RunningProviderMock } from '../src';
import { JsonClient } from './http-client';

const PHONE = '+8801921317475';
const running: RunningProviderMock[] = [];

async function start(options: ProviderMockOptions = {}): Promise<RunningProviderMock> {
  const mock = await startProviderMock({ logLevel: 'error', ...options });
  running.push(mock);
  return mock;
}

const client = new JsonClient();

afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.close()));
});

afterAll(() => client.close());

let seq = 0;
function send(mock: RunningProviderMock, body: Record<string, unknown> = {}, timeoutMs = 5000) {
  return client.request('POST', mock.sendUrl, { phone: PHONE, text: 'hello', message_id: `m-${++seq}`, ...body }, timeoutMs);
}

async function admin(mock: RunningProviderMock, path: string, body?: unknown) {
  const res = await client.request(body === undefined && !path.includes('reset') ? 'GET' : 'POST', `${mock.url}${path}`, body);
  return { status: res.status, body: res.body };
}

const stats = async (mock: RunningProviderMock) => (await admin(mock, '/admin/stats')).body as unknown as MockStats;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a real-time scenario until the machine kept its timing (a busy 2-core box sometimes does
 * not), at most `attempts` times; the caller asserts on the first timely run. Whether a run was
 * timely is judged from measured times, never from the outcome under test.
 */
async function untilTimely<T>(run: () => Promise<{ timely: boolean; why: string; result: T }>, attempts = 3): Promise<T> {
  const reasons: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const { timely, why, result } = await run();
    if (timely) return result;
    reasons.push(why);
  }
  throw new Error(`The machine was too busy to run the scenario on time: ${reasons.join('; ')}`);
}

describe('POST /api/sms/<provider> rate limit (sliding 1-second window)', () => {
  it('accepts exactly 50 of 60 sends arriving within one second at limit 50 and answers the rest 429 with Retry-After', async () => {
    const mock = await start({ rateLimit: 50 });
    expect((await send(mock)).status).toBe(200); // warm-up, so the 60 arrive close together
    const { responses, after } = await untilTimely(async () => {
      await admin(mock, '/admin/reset');
      const responses = await Promise.all(Array.from({ length: 60 }, () => send(mock)));
      const after = await stats(mock);
      // The mock's own measure says whether all 60 really arrived within one second.
      return { timely: after.max_in_any_1s_window === 60, why: `60 sends spread over more than 1 s (max ${after.max_in_any_1s_window})`, result: { responses, after } };
    });
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const throttled = responses.find((r) => r.status === 429)!;
    expect(throttled.headers['retry-after']).toBe('1');
    expect(throttled.body).toMatchObject({ code: 'RATE_LIMIT.PROVIDER_EXCEEDED', details: { limit: 50 } });
    expect(after).toMatchObject({ received: 60, accepted: 50, throttled: 10, failed: 0, rejected: 0, max_in_any_1s_window: 60 });
  });

  it('throttles a second burst that a fixed window aligned to the wall-clock second would have let through', async () => {
    const limit = 50;
    const mock = await start({ rateLimit: limit });
    expect((await send(mock)).status).toBe(200); // warm-up: the first connection costs most
    type Sent = { burst: number; arrivedAt: number; status: number };
    // The mock runs in this process on performance.now(), so its arrival times map onto wall time.
    const wallSecond = (r: Sent) => Math.floor((performance.timeOrigin + r.arrivedAt) / 1000);

    const run = await untilTimely(async () => {
      await admin(mock, '/admin/reset');
      // Start half-way through a wall-clock second: burst 1 (50 sends over 0.5 s) fills the rest of
      // that second; burst 2 (50 sends over the next 0.6 s) lies in the next second, where a fixed
      // window would start counting from zero again. Each send leaves at its planned time.
      await sleep((1500 - (Date.now() % 1000)) % 1000);
      const t0 = performance.now();
      const plan = [
        ...Array.from({ length: 50 }, (_, i) => ({ burst: 1, at: i * 10 })),
        ...Array.from({ length: 50 }, (_, i) => ({ burst: 2, at: 500 + i * 12 })),
      ];
      const results: Sent[] = await Promise.all(
        plan.map(async ({ burst, at }) => {
          await sleep(t0 + at - performance.now());
          const res = await send(mock);
          return { burst, arrivedAt: Number(res.headers['x-mock-arrived-ms']), status: res.status };
        }),
      );
      const byArrival = [...results].sort((x, y) => x.arrivedAt - y.arrivedAt);
      // What a fixed window per wall-clock second would have let through.
      const perSecond = new Map<number, number>();
      const fixedWouldAdmit = new Set<Sent>();
      for (const r of byArrival) {
        const n = (perSecond.get(wallSecond(r)) ?? 0) + 1;
        perSecond.set(wallSecond(r), n);
        if (n <= limit) fixedWouldAdmit.add(r);
      }
      const throttledWhereFixedAdmits = results.filter((r) => r.status === 429 && fixedWouldAdmit.has(r)).length;
      // On time, ~42 burst-2 sends land in burst 1's last second and ~8 get through as it leaves.
      return {
        timely: throttledWhereFixedAdmits >= 30,
        why: `the sends fell behind the plan (${throttledWhereFixedAdmits} throttled where a fixed window admits)`,
        result: { results, byArrival, throttledWhereFixedAdmits },
      };
    });

    // Every answer follows the rule on the mock's own arrival times: a send is throttled exactly
    // when `limit` sends were already let through in (t - 1000 ms, t].
    const letThrough: number[] = [];
    const expected = run.byArrival.map((r) => {
      const inWindow = letThrough.filter((t) => t > r.arrivedAt - 1000).length;
      if (inWindow >= limit) return 429;
      letThrough.push(r.arrivedAt);
      return 200;
    });
    expect(run.byArrival.map((r) => r.status)).toEqual(expected);
    const count = (burst: number, status: number) => run.results.filter((r) => r.burst === burst && r.status === status).length;
    expect(run.byArrival.slice(0, 50).map((r) => r.status)).toEqual(Array(50).fill(200));
    // The counts that tell a sliding window from a fixed one: 30+ throttled that a fixed window
    // would have let through, and room again once burst 1 leaves the window.
    expect(run.throttledWhereFixedAdmits).toBeGreaterThanOrEqual(30);
    expect(count(2, 200)).toBeGreaterThanOrEqual(1);
    expect(await stats(mock)).toMatchObject({ received: 100, accepted: 50 + count(2, 200), throttled: count(2, 429) });
  });

  it('reports max_in_any_1s_window for a known arrival sequence, counting across fixed-second boundaries', async () => {
    let now = 0;
    const mock = await start({ rateLimit: 100, now: () => now });
    for (const t of [0, 100, 200, 950, 1000, 1150, 1190, 2500]) {
      now = t;
      expect((await send(mock)).status).toBe(200);
    }
    expect(await stats(mock)).toMatchObject({ received: 8, accepted: 8, max_in_any_1s_window: 5 });
  });
});

describe('POST /admin/mode', () => {
  it('switches at run time: up -> down 503 -> reject 400 -> timeout no answer -> up 200', async () => {
    const mock = await start();
    expect((await send(mock)).status).toBe(200);

    expect(await admin(mock, '/admin/mode', { mode: 'down' })).toEqual({
      status: 200,
      body: { provider: 'provider1', mode: 'down', previous_mode: 'up' },
    });
    const down = await send(mock);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'PROVIDER.FAILED' });

    await admin(mock, '/admin/mode', { mode: 'reject' });
    const rejected = await send(mock);
    expect(rejected.status).toBe(400);
    expect(rejected.body).toMatchObject({ code: 'PROVIDER.REJECTED' });

    await admin(mock, '/admin/mode', { mode: 'timeout' });
    await expect(send(mock, {}, 300)).rejects.toMatchObject({ name: 'TimeoutError' });

    await admin(mock, '/admin/mode', { mode: 'up' });
    expect((await send(mock)).status).toBe(200);
    expect(await stats(mock)).toMatchObject({ mode: 'up', received: 5, accepted: 2, failed: 1, rejected: 1, unanswered: 1 });
  });

  it('answers in slow mode only after slow_ms, so an impatient client times out', async () => {
    const mock = await start({ mode: 'slow', slowMs: 400 });
    await expect(send(mock, {}, 150)).rejects.toMatchObject({ name: 'TimeoutError' });
    const started = performance.now();
    expect((await send(mock)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('closes without waiting for a request held in timeout mode', async () => {
    const mock = await startProviderMock({ logLevel: 'error', mode: 'timeout' });
    const held = send(mock, {}, 10_000).then(
      () => 'answered',
      () => 'connection dropped',
    );
    await sleep(100);
    await mock.close();
    expect(await held).toBe('connection dropped');
  });

  it('rejects an unknown mode with 400 and keeps the current one', async () => {
    const mock = await start();
    expect(await admin(mock, '/admin/mode', { mode: 'sideways' })).toMatchObject({ status: 400, body: { field: 'mode' } });
    expect((await stats(mock)).mode).toBe('up');
  });
});

describe('POST /admin/config', () => {
  it('delays answers by latency_ms once configured', async () => {
    const mock = await start();
    expect(await admin(mock, '/admin/config', { latency_ms: 200 })).toMatchObject({ status: 200, body: { latency_ms: 200 } });
    const started = performance.now();
    expect((await send(mock)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('answers every send 500 at failure_rate 1', async () => {
    const mock = await start();
    await admin(mock, '/admin/config', { failure_rate: 1 });
    const statuses = await Promise.all([send(mock), send(mock), send(mock)].map(async (p) => (await p).status));
    expect(statuses).toEqual([500, 500, 500]);
    expect(await stats(mock)).toMatchObject({ received: 3, failed: 3, accepted: 0, failure_rate: 1 });
  });

  it('applies a new rate_limit to the next send', async () => {
    const mock = await start({ rateLimit: 50 });
    await admin(mock, '/admin/config', { rate_limit: 1 });
    expect([(await send(mock)).status, (await send(mock)).status]).toEqual([200, 429]);
  });

  it.each([
    [{ rate_limit: 0 }, 'rate_limit'],
    [{ failure_rate: 1.5 }, 'failure_rate'],
    [{ latency_ms: -1 }, 'latency_ms'],
    [{ latency_ms: '10' }, 'latency_ms'],
    [{ speed: 3 }, 'speed'],
    [{ dedupe: 'yes' }, 'dedupe'],
    [{}, 'body'],
  ])('rejects %j with 400 naming the field', async (body, field) => {
    const mock = await start();
    expect(await admin(mock, '/admin/config', body)).toMatchObject({ status: 400, body: { code: 'REQUEST.VALIDATION_FAILED', field } });
    expect(await stats(mock)).toMatchObject({ rate_limit: 50, latency_ms: 0, failure_rate: 0 });
  });
});

describe('accepted ids, duplicates, deduplication and reset', () => {
  it('answers a repeat of an accepted message_id 200 with the original reference and does not deliver it again (dedupe, the default)', async () => {
    const mock = await start();
    const first = await send(mock, { message_id: 'dup-1' });
    const second = await send(mock, { message_id: 'dup-1' });
    const a = first.body as Record<string, string>;
    const b = second.body as Record<string, unknown>;
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(a).toMatchObject({ status: 'accepted', message_id: 'dup-1', id: expect.stringMatching(/^provider1-/) });
    expect(b).toMatchObject({ status: 'accepted', message_id: 'dup-1', id: a.id, deduplicated: true });
    expect(await stats(mock)).toMatchObject({ received: 2, accepted: 1, duplicates: 0, deduplicated: 1, accepted_ids_count: 1, dedupe: true });
    expect((await admin(mock, '/admin/accepted')).body).toEqual({ provider: 'provider1', count: 1, message_ids: ['dup-1'] });
  });

  it('with dedupe switched off (POST /admin/config), accepts a repeat as a new delivery with a new reference and counts one duplicate', async () => {
    const mock = await start();
    expect(await admin(mock, '/admin/config', { dedupe: false })).toMatchObject({ status: 200, body: { dedupe: false } });
    const first = await send(mock, { message_id: 'dup-2' });
    const second = await send(mock, { message_id: 'dup-2' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect((second.body as Record<string, string>).id).not.toBe((first.body as Record<string, string>).id);
    expect(await stats(mock)).toMatchObject({ accepted: 2, duplicates: 1, deduplicated: 0, accepted_ids_count: 1, dedupe: false });
    expect((await admin(mock, '/admin/accepted')).body).toEqual({ provider: 'provider1', count: 1, message_ids: ['dup-2'] });
  });

  it('starts without dedupe when told so (MOCK_DEDUPE=false)', async () => {
    const mock = await start({ dedupe: false });
    await send(mock, { message_id: 'dup-3' });
    await send(mock, { message_id: 'dup-3' });
    expect(await stats(mock)).toMatchObject({ accepted: 2, duplicates: 1, deduplicated: 0, dedupe: false });
  });

  it('still throttles a repeat once the rate limit is spent (the limit counts every request)', async () => {
    const mock = await start({ rateLimit: 1 });
    expect((await send(mock, { message_id: 'dup-4' })).status).toBe(200);
    expect((await send(mock, { message_id: 'dup-4' })).status).toBe(429);
    expect(await stats(mock)).toMatchObject({ accepted: 1, throttled: 1, deduplicated: 0 });
  });

  it('reset zeroes the counters, forgets accepted ids and empties the rate window', async () => {
    const mock = await start({ rateLimit: 2 });
    await send(mock);
    await send(mock);
    expect((await send(mock)).status).toBe(429);
    const reset = await admin(mock, '/admin/reset');
    expect(reset.body).toMatchObject({ received: 0, accepted: 0, throttled: 0, max_in_any_1s_window: 0, duplicates: 0, deduplicated: 0, accepted_ids_count: 0 });
    expect((await admin(mock, '/admin/accepted')).body).toMatchObject({ count: 0, message_ids: [] });
    expect((await admin(mock, '/admin/arrivals')).body).toMatchObject({ count: 0, times_ms: [] });
    expect((await send(mock)).status).toBe(200);
  });

  it('lists every arrival time in order, throttled and malformed sends included (GET /admin/arrivals)', async () => {
    const mock = await start({ rateLimit: 1 });
    const before = performance.now();
    await send(mock);
    await send(mock); // throttled
    await client.request('POST', mock.sendUrl, '{"phone":'); // malformed
    const after = performance.now();
    const body = (await admin(mock, '/admin/arrivals')).body as { provider: string; count: number; received: number; time_origin_ms: number; times_ms: number[] };
    expect(body).toMatchObject({ provider: 'provider1', count: 3, received: 3, time_origin_ms: performance.timeOrigin });
    // The mock runs in this process: its monotonic clock is this one.
    expect(body.times_ms[0]).toBeGreaterThanOrEqual(before);
    expect(body.times_ms[2]).toBeLessThanOrEqual(after);
    expect([...body.times_ms].sort((a, b) => a - b)).toEqual(body.times_ms);
  });
});

describe('POST /api/sms/<provider> validation', () => {
  it.each([
    [{ phone: '01921317475' }, 'SMS.INVALID_PHONE', 'phone'],
    [{ phone: '+12345' }, 'SMS.INVALID_PHONE', 'phone'],
    [{ phone: undefined }, 'SMS.INVALID_PHONE', 'phone'],
    [{ text: '' }, 'SMS.EMPTY_TEXT', 'text'],
    [{ message_id: undefined }, 'REQUEST.VALIDATION_FAILED', 'message_id'],
  ])('answers %j with 400 %s', async (override, code, field) => {
    const mock = await start();
    const res = await send(mock, override);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400, code, field });
    expect(await stats(mock)).toMatchObject({ received: 1, rejected: 1, accepted: 0 });
  });

  it('answers a malformed JSON body with 400 and still counts it as received', async () => {
    const mock = await start();
    const res = await client.request('POST', mock.sendUrl, '{"phone":');
    expect(res.status).toBe(400);
    expect(await stats(mock)).toMatchObject({ received: 1, rejected: 1 });
  });
});

describe('logging', () => {
  it('writes one debug line per send with the phone masked', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ service: 'provider-mock-test', version: 'test', level: 'debug', transports: [new winston.transports.Stream({ stream: sink })] });
    const mock = await start({ logger });
    await send(mock, { message_id: 'log-1' });
    await send(mock, { message_id: 'log-2', phone: 'nope' });
    const sends = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'send');
    expect(sends.map((l) => [l.message_id, l.outcome, l.status])).toEqual([
      ['log-1', 'accepted', 200],
      ['log-2', 'invalid', 400],
    ]);
    expect(sends[0].phone).toBe('+88019*****475');
    expect(lines.join('\n')).not.toContain(PHONE);
  });
});

describe('GET /health and unknown routes', () => {
  it('reports ok with provider and mode, and answers unknown paths with a JSON 404', async () => {
    const mock = await start({ providerId: 'provider3', mode: 'down' });
    expect(await admin(mock, '/health')).toEqual({ status: 200, body: { status: 'ok', provider: 'provider3', mode: 'down' } });
    const res = await client.request('POST', `${mock.url}/api/sms/provider1`, {});
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'REQUEST.NOT_FOUND' });
  });
});
