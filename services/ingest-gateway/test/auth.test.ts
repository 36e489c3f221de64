import { startGateway, VALID_PHONE, type TestGateway } from './harness';

describe('API keys (API_KEYS, ADMIN_API_KEY)', () => {
  let gw: TestGateway;
  const body = { phone: VALID_PHONE, text: 'keyed' };
  beforeAll(async () => {
    gw = await startGateway({ env: { API_KEYS: 'client-key-1,client-key-2', ADMIN_API_KEY: 'admin-key', INGEST_RATE_LIMIT: '100000' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('refuses /api/sms/* without a valid key with 401 and stores nothing', async () => {
    const rows = await gw.rowCount();
    const none = await gw.post('/api/sms/send', body);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: 'AUTH.UNAUTHORIZED' });
    expect((await gw.post('/api/sms/send', body, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await gw.get('/api/sms/requests')).status).toBe(401);
    expect(await gw.rowCount()).toBe(rows);
  });

  it('accepts a client key (Bearer or X-API-Key)', async () => {
    expect((await gw.post('/api/sms/send', body, { authorization: 'Bearer client-key-2' })).status).toBe(200);
    expect((await gw.post('/api/sms/send', body, { 'x-api-key': 'client-key-1' })).status).toBe(200);
  });

  it('keeps resets and direct sends for the admin key (403 with a client key)', async () => {
    const client = { authorization: 'Bearer client-key-1' };
    expect((await gw.post('/api/sms/health/provider1/reset', {}, client)).status).toBe(403);
    expect((await gw.post('/api/sms/distribution-stats/reset', {}, client)).status).toBe(403);
    expect((await gw.post('/api/sms/provider1', body, client)).status).toBe(403);
    expect((await gw.post('/api/sms/distribution-stats/reset', {}, { authorization: 'Bearer admin-key' })).status).toBe(200);
  });

  it('refuses an Idempotency-Key on a direct send instead of ignoring it', async () => {
    const res = await gw.post('/api/sms/provider1', body, { authorization: 'Bearer admin-key', 'idempotency-key': 'k-1' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'SMS.INVALID_IDEMPOTENCY_KEY', field: 'Idempotency-Key' });
  });

  it('leaves /health, /openapi.json and /docs open', async () => {
    expect((await gw.get('/health')).status).toBe(200);
    expect((await gw.get('/openapi.json')).status).toBe(200);
    expect((await fetch(`${gw.url}/docs/`)).status).toBe(200);
  });
});
