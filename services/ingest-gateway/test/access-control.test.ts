import { maskPhone } from '@twillow/logger';
import { startGateway, VALID_E164, VALID_PHONE, type TestGateway } from './harness';

const CLIENT_1 = 'ck1-9f2d71c0b8e4';
const CLIENT_2 = 'ck2-4a6e03d95f1b';
const ADMIN = 'adm-c3b8f2e61a07';
const ALLOWED_ORIGIN = 'https://ops.example.com';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('access control (API keys, admin key, per-key limit, CORS, headers)', () => {
  let gw: TestGateway;
  const body = { phone: VALID_PHONE, text: 'access' };
  const req = (method: string, path: string, headers: Record<string, string> = {}, payload?: unknown) =>
    fetch(`${gw.url}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: payload !== undefined ? JSON.stringify(payload) : undefined,
    });

  beforeAll(async () => {
    gw = await startGateway({
      env: {
        API_KEYS: `${CLIENT_1},${CLIENT_2}`,
        ADMIN_API_KEY: ADMIN,
        INGEST_RATE_LIMIT: '100000',
        API_KEY_RATE_LIMIT: '2',
        INGEST_RATE_WINDOW_MS: '60000', // no window ends during the test
        CORS_ORIGINS: `${ALLOWED_ORIGIN},https://other.example.com`,
        LOG_LEVEL: 'debug', // the per-message lines (with the phone) are written too
        PROVIDER1_URL: 'http://127.0.0.1:9/api/sms/provider1', // nothing listens: a direct send fails and is logged
        DIRECT_SEND_MAX_WAIT_MS: '0',
      },
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  const adminEndpoints: [string, string, unknown?][] = [
    ['POST', '/api/sms/health/provider1/reset', {}],
    ['POST', '/api/sms/distribution-stats/reset', {}],
    ['POST', '/api/sms/provider1', body],
    ['POST', '/api/sms/provider2', body],
    ['POST', '/api/sms/provider3', body],
    ['GET', '/metrics'],
    ['GET', '/admin/queues'],
    ['GET', '/admin/queues/api/queues'],
  ];

  // One argument (not three): jest would take a third parameter of a two-element row for `done`.
  it.each(adminEndpoints)('%s %s: 401 without a key, 403 with a client key', async (...[method, path, payload]) => {
    const rows = await gw.rowCount();
    expect((await req(method, path, {}, payload)).status).toBe(401);
    const forbidden = await req(method, path, bearer(CLIENT_1), payload);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ code: 'AUTH.FORBIDDEN' });
    expect(await gw.rowCount()).toBe(rows);
  });

  it('answers 401 on /api/sms/* without a key and with an unknown key', async () => {
    expect((await req('POST', '/api/sms/send', {}, body)).status).toBe(401);
    expect((await req('GET', '/api/sms/rate-limits', bearer('not-a-key'))).status).toBe(401);
  });

  describe('Bull Board at /admin/queues', () => {
    it('shows a sign-in page (401) without the key and refuses a wrong ?key=', async () => {
      const none = await req('GET', '/admin/queues');
      expect(none.status).toBe(401);
      expect(await none.text()).toContain('ADMIN_API_KEY');
      const wrong = await req('GET', `/admin/queues?key=${CLIENT_1}`);
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();
    });

    it('serves the board with the admin key as Bearer, and its API lists the sms queue', async () => {
      const page = await req('GET', '/admin/queues', bearer(ADMIN));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      const api = await req('GET', '/admin/queues/api/queues', bearer(ADMIN));
      expect(api.status).toBe(200);
      expect(((await api.json()) as { queues: { name: string; readOnlyMode: boolean }[] }).queues).toEqual([
        expect.objectContaining({ name: gw.keys.smsQueue, readOnlyMode: true }),
      ]);
    });

    it('exchanges ?key=<admin key> for an HttpOnly cookie and redirects to the URL without the key', async () => {
      const login = await req('GET', `/admin/queues?key=${encodeURIComponent(ADMIN)}`);
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/admin/queues');
      const cookie = login.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/^twillow_admin_queues=\d+\.[\w-]+; /);
      expect(cookie).toContain('Path=/admin/queues');
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Strict');
      expect(cookie).not.toContain(ADMIN);
      const session = { cookie: cookie.split(';')[0]! };
      expect((await req('GET', '/admin/queues', session)).status).toBe(200);
      expect((await req('GET', '/admin/queues/api/queues', session)).status).toBe(200);
      // A forged cookie does not pass.
      expect((await req('GET', '/admin/queues/api/queues', { cookie: `twillow_admin_queues=${Date.now() + 60000}.forged` })).status).toBe(401);
    });
  });

  it('limits each API key on its own: one key spends its limit (429 RATE_LIMIT.KEY_EXCEEDED), the other still passes', async () => {
    const rows = await gw.rowCount();
    expect((await req('POST', '/api/sms/send', bearer(CLIENT_1), body)).status).toBe(200);
    expect((await req('POST', '/api/sms/send', bearer(CLIENT_1), body)).status).toBe(200);
    const refused = await req('POST', '/api/sms/send', bearer(CLIENT_1), body);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const json = (await refused.json()) as { details: { key_id: string } };
    expect(json).toMatchObject({ status: 429, code: 'RATE_LIMIT.KEY_EXCEEDED', details: { scope: 'key', current_count: 3, limit: 2, window_ms: 60000 } });
    expect(json.details.key_id).toMatch(/^[0-9a-f]{12}$/);
    expect(JSON.stringify(json)).not.toContain(CLIENT_1);

    expect((await req('POST', '/api/sms/send', { 'x-api-key': CLIENT_2 }, body)).status).toBe(200);
    expect(await gw.rowCount()).toBe(rows + 3);
    // Counted in Redis under the per-key prefix, by key id (never the key itself).
    const keys = await gw.redis.keys(`${gw.keys.ingestLimitPrefix}key:*`);
    expect(keys).toHaveLength(2);
    expect(keys.join(' ')).not.toContain(CLIENT_1);
  });

  describe('CORS (CORS_ORIGINS)', () => {
    it('echoes an allowed origin, on answers and on preflights', async () => {
      const res = await req('GET', '/health', { origin: ALLOWED_ORIGIN });
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(res.headers.get('vary')).toContain('Origin');
      const preflight = await req('OPTIONS', '/api/sms/send', {
        origin: ALLOWED_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    });

    it('gives an unknown origin no Access-Control-Allow-Origin, so the browser refuses the answer', async () => {
      const res = await req('GET', '/health', { origin: 'https://evil.example.net' });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await req('OPTIONS', '/api/sms/send', { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  it('puts helmet headers on every answer (200, 401, 404, /docs) and no X-Powered-By or HSTS', async () => {
    const answers = [
      await req('GET', '/health'),
      await req('POST', '/api/sms/send', {}, body),
      await req('GET', '/nowhere'),
      await req('GET', '/docs/'),
      await req('GET', '/admin/queues', bearer(ADMIN)),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 404, 200, 200]);
    for (const res of answers) {
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('routes case-sensitively: /api/sms/PROVIDER1/status and /api/sms/SEND are 404 like /api/sms/health/PROVIDER1', async () => {
    expect((await req('GET', '/api/sms/provider1/status', bearer(CLIENT_2))).status).toBe(200);
    for (const path of ['/api/sms/PROVIDER1/status', '/api/sms/health/PROVIDER1']) expect((await req('GET', path, bearer(CLIENT_2))).status).toBe(404);
    expect((await req('POST', '/api/sms/SEND', bearer(CLIENT_2), body)).status).toBe(404);
  });

  it('writes no key and no full phone number to any log line, through sends, a direct send and refused keys', async () => {
    await gw.redis.del(...(await gw.redis.keys(`${gw.keys.ingestLimitPrefix}key:*`))); // room for CLIENT_1 again
    const from = gw.logs.length;
    expect((await req('POST', '/api/sms/send', bearer(CLIENT_1), body)).status).toBe(200);
    expect((await req('POST', '/api/sms/send', { 'x-api-key': CLIENT_2, 'idempotency-key': 'log-check-1' }, body)).status).toBe(200);
    expect((await req('POST', '/api/sms/provider1', bearer(ADMIN), body)).status).toBe(502); // connection refused, logged
    expect((await req('POST', '/api/sms/send', bearer('wrong-key-5e1d'), body)).status).toBe(401);
    expect((await req('POST', '/api/sms/send', bearer(CLIENT_1), { phone: '+88019213174759999', text: 'x' })).status).toBe(400);

    const lines = gw.logs.slice(from);
    // The lines are there (so the check below can fail): the queued sends with the masked phone.
    expect(lines.filter((l) => l.message === 'sms queued').map((l) => l.phone)).toEqual([maskPhone(VALID_E164), maskPhone(VALID_E164)]);
    expect(lines.some((l) => l.message === 'direct send')).toBe(true);
    const text = JSON.stringify(gw.logs);
    for (const secret of [CLIENT_1, CLIENT_2, ADMIN, 'wrong-key-5e1d', VALID_E164, VALID_E164.slice(1), VALID_PHONE, '88019213174759999']) {
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    }
  });

  it('says nothing about an open API when keys are set', () => {
    expect(gw.logs.some((l) => String(l.message).startsWith('SECURITY:'))).toBe(false);
  });
});

describe('a gateway without API_KEYS (open)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { INGEST_RATE_LIMIT: '100000' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('says so loudly once at start-up (one WARN line naming the port)', () => {
    const security = gw.logs.filter((l) => String(l.message).startsWith('SECURITY:'));
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({
      level: 'warn',
      message: 'SECURITY: API_KEYS is empty — the API is open to anyone who can reach port 0. Set API_KEYS and ADMIN_API_KEY before exposing it.',
    });
  });

  it('lets everything through, admin pages included, and keeps CORS closed (no CORS_ORIGINS)', async () => {
    expect((await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'open' })).status).toBe(200);
    expect((await gw.get('/metrics')).status).toBe(200);
    expect((await gw.get('/admin/queues')).status).toBe(200);
    const res = await fetch(`${gw.url}/health`, { headers: { origin: 'https://ops.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
