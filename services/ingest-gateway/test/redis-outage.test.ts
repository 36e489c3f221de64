import { waitFor } from '@twillow/testing';
import { OwnRedis, startGateway, VALID_PHONE, type TestGateway } from './harness';

/**
 * Runs against a redis-server of its own, stopped (by PID) and restarted mid-test.
 */
describe('when Redis becomes unreachable', () => {
  let redis: OwnRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await OwnRedis.create();
    await redis.start();
    gw = await startGateway({ redisUrl: redis.url, env: { INGEST_RATE_LIMIT: '3', INGEST_RATE_WINDOW_MS: '60000' } });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.stop();
  });

  it('keeps serving: sends answer 503 DEPENDENCY.REDIS_UNAVAILABLE, the ingest limit keeps counting in memory, and all recovers when Redis returns', async () => {
    expect((await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'before the outage' })).status).toBe(200);
    const rows = await gw.rowCount();

    await redis.stop();
    await waitFor(async () => (await gw.get('/health')).status === 503, 10000, 100, '/health to report the outage');
    const health = await (await gw.get('/health')).json();
    expect(health).toEqual({ status: 'unhealthy', failing: ['redis'], checks: { redis: 'unreachable', database: 'ok' } });

    // Memory takes over counting at once: 3 allowed (then refused by the dead queue), the 4th is limited.
    const during = [];
    for (let i = 0; i < 4; i++) during.push(await gw.post('/api/sms/send', { phone: VALID_PHONE, text: `during ${i}` }));
    expect(during.map((r) => r.status)).toEqual([503, 503, 503, 429]);
    expect(await during[0].json()).toMatchObject({ status: 503, code: 'DEPENDENCY.REDIS_UNAVAILABLE' });
    expect(during[0].headers.get('retry-after')).toBe('1');
    expect(await gw.rowCount()).toBe(rows);
    const fallbackLines = gw.logs.filter((l) => String(l.message).startsWith('INGEST RATE LIMIT FALLBACK'));
    expect(fallbackLines).toHaveLength(1);
    expect(fallbackLines[0].level).toBe('error');

    // Read endpoints that need Redis answer 503, those that do not still work.
    expect((await gw.get('/api/sms/rate-limits')).status).toBe(503);
    expect((await gw.get('/api/sms/health')).status).toBe(200);
    expect((await gw.get('/api/sms/requests?limit=1')).status).toBe(200);

    await redis.start();
    await waitFor(async () => (await gw.get('/health')).status === 200, 15000, 100, '/health to recover');
    const after = await waitFor(
      async () => {
        const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'after the outage' });
        return res.status === 200 ? res : undefined;
      },
      15000,
      250,
      'a send to be accepted again',
    );
    const body = await after.json();
    expect(await gw.gateway.queue.getJob(body.message_id)).toBeDefined();
    expect(gw.logs.some((l) => String(l.message).includes('Redis answers again'))).toBe(true);
    const limits = await (await gw.get('/api/sms/rate-limits')).json();
    expect(limits.ingest.fallback).toBe(false);
  });
});
