import express from 'express';
import { listen, type RunningServer } from '@twillow/http';
import { startGateway, VALID_E164, VALID_PHONE, type TestGateway } from './harness';

/** A provider over real HTTP whose answer the test chooses. */
interface Answer {
  status: number;
  body: unknown;
  retryAfter?: string;
}

async function startProvider(): Promise<{ server: RunningServer; received: unknown[]; answer: Answer }> {
  const received: unknown[] = [];
  const answer: Answer = { status: 200, body: { message_id: 'prov-ref-1', status: 'accepted' } };
  const app = express();
  app.post('/api/sms/provider1', express.json(), (req, res) => {
    received.push({ body: req.body, messageIdHeader: req.get('x-message-id') });
    if (answer.retryAfter) res.setHeader('Retry-After', answer.retryAfter);
    res.status(answer.status).json(answer.body);
  });
  return { server: await listen(app, 0, '127.0.0.1'), received, answer };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('read side, operations and direct sends', () => {
  let gw: TestGateway;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  beforeAll(async () => {
    provider = await startProvider();
    gw = await startGateway({
      env: {
        INGEST_RATE_LIMIT: '100000',
        PROVIDER1_URL: `${provider.server.url}/api/sms/provider1`,
        PROVIDER2_URL: 'http://127.0.0.1:9/api/sms/provider2',
        PROVIDER_WEIGHTS: '3,2,1',
        PROVIDER_RATE_LIMIT: '5',
        // Direct sends wait out the limiter's pacing (1025 ms / 5 = 205 ms between sends) but not a
        // full window, so a spent limit shows as 429 quickly.
        DIRECT_SEND_MAX_WAIT_MS: '300',
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await provider.server.close();
  });

  describe('GET /health', () => {
    it('answers {"status":"healthy"} when Redis and the database answer', async () => {
      const res = await gw.get('/health');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'healthy' });
    });
  });

  describe('GET /api/sms/requests', () => {
    const ids: string[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 5; i++) {
        const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: `list ${i}` });
        ids.push((await res.json()).message_id);
        await new Promise((r) => setTimeout(r, 5)); // distinct created_at, so "newest first" is observable
      }
    });

    it('lists newest first, bounded by limit, and pages with next_cursor', async () => {
      const page1 = await (await gw.get('/api/sms/requests?limit=2')).json();
      expect(page1.requests.map((r: { id: string }) => r.id)).toEqual([ids[4], ids[3]]);
      expect(page1).toMatchObject({ count: 2, limit: 2, next_cursor: expect.any(String) });
      expect(page1.requests[0]).toMatchObject({ phone: VALID_PHONE, phone_normalized: VALID_E164, status: 'pending', encoding: 'GSM-7', segments: 1 });
      const page2 = await (await gw.get(`/api/sms/requests?limit=2&cursor=${encodeURIComponent(page1.next_cursor)}`)).json();
      expect(page2.requests.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    });

    it('defaults to 50 and filters by status', async () => {
      const all = await (await gw.get('/api/sms/requests')).json();
      expect(all.limit).toBe(50);
      const sent = await (await gw.get('/api/sms/requests?status=sent')).json();
      expect(sent.requests.every((r: { status: string }) => r.status === 'sent')).toBe(true);
      const pending = await (await gw.get('/api/sms/requests?status=pending&limit=500')).json();
      expect(pending.requests.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(ids));
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=abc', 'limit'],
      ['status=delivered', 'status'],
      ['offset=10', 'offset'],
    ])('refuses %s with 400 naming the field', async (query, field) => {
      const res = await gw.get(`/api/sms/requests?${query}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ status: 400, field });
    });
  });

  describe('GET /api/sms/requests/{request_id}', () => {
    it('answers 404 SMS.REQUEST_NOT_FOUND for an unknown id', async () => {
      const res = await gw.get('/api/sms/requests/7f3c2a2d-0b1e-4c6a-9d2f-3e4b5c6d7e8f');
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'SMS.REQUEST_NOT_FOUND' });
    });

    it.each([
      ["1' OR '1'='1"],
      ['1;DROP TABLE sms_requests'],
      ['..%2F..%2Fetc%2Fpasswd'],
      ['%00'],
      ['not-a-uuid'],
    ])('answers 400 SMS.INVALID_REQUEST_ID for %s and leaves the table intact', async (raw) => {
      const rows = await gw.rowCount();
      const res = await gw.get(`/api/sms/requests/${raw.includes('%') ? raw : encodeURIComponent(raw)}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ status: 400, code: 'SMS.INVALID_REQUEST_ID', field: 'request_id' });
      expect(await gw.rowCount()).toBe(rows);
    });
  });

  describe('POST /api/sms/provider1 (direct send)', () => {
    it('sends through provider1 now, stores the request as sent with the provider answer, and reports the outcome', async () => {
      provider.answer.status = 200;
      const res = await gw.post('/api/sms/provider1', { phone: VALID_PHONE, text: 'direct hello' });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({
        success: true,
        message_id: expect.stringMatching(UUID),
        provider: 'provider1',
        queued: false,
        status: 'sent',
        phone_normalized: VALID_E164,
        provider_response: { status_code: 200, provider_ref: 'prov-ref-1' },
      });
      expect(provider.received.at(-1)).toEqual({
        body: { phone: VALID_E164, text: 'direct hello', message_id: body.message_id },
        messageIdHeader: body.message_id,
      });

      const detail = await (await gw.get(`/api/sms/requests/${body.message_id}`)).json();
      expect(detail).toMatchObject({ id: body.message_id, status: 'sent', provider: 'provider1', attempts: 1 });
      expect(detail.responses).toEqual([
        expect.objectContaining({ provider: 'provider1', attempt: 1, status_code: 200, outcome: 'success', error: null }),
      ]);
      expect(await gw.gateway.queue.getJob(body.message_id)).toBeUndefined();

      const stream = await gw.redis.xrange(gw.keys.outcomeStream, '-', '+');
      const events = stream.map(([, fields]) => JSON.parse(fields[1]));
      expect(events).toContainEqual(expect.objectContaining({ provider: 'provider1', kind: 'success', message_id: body.message_id }));

      const stats = await (await gw.get('/api/sms/rate-limits')).json();
      expect(stats.providers.provider1.current_count).toBeGreaterThanOrEqual(1);
    });

    it('answers 502 PROVIDER.FAILED when the provider fails, and stores the failed attempt', async () => {
      provider.answer.status = 500;
      const res = await gw.post('/api/sms/provider1', { phone: VALID_PHONE, text: 'will fail' });
      provider.answer.status = 200;
      expect(res.status).toBe(502);
      const body = await res.json();
      expect(body).toMatchObject({ code: 'PROVIDER.FAILED', details: { provider: 'provider1', outcome: 'server_error' } });
      const detail = await (await gw.get(`/api/sms/requests/${body.details.message_id}`)).json();
      expect(detail).toMatchObject({ status: 'failed', last_error: 'HTTP 500' });
      expect(detail.responses[0]).toMatchObject({ status_code: 500, outcome: 'server_error' });
    });

    it('answers 502 when the provider cannot be reached', async () => {
      const res = await gw.post('/api/sms/provider2', { phone: VALID_PHONE, text: 'nobody there' });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ code: 'PROVIDER.FAILED', details: { outcome: 'connection_error' } });
    });

    it('answers 429 RATE_LIMIT.PROVIDER_EXCEEDED when the provider throttles, then keeps it backed off without calling it', async () => {
      provider.answer.status = 429;
      provider.answer.retryAfter = '3';
      const throttled = await gw.post('/api/sms/provider1', { phone: VALID_PHONE, text: 'throttled' });
      provider.answer.status = 200;
      provider.answer.retryAfter = undefined;
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('3');
      expect(await throttled.json()).toMatchObject({ code: 'RATE_LIMIT.PROVIDER_EXCEEDED', details: { provider: 'provider1', outcome: 'throttled' } });

      const callsBefore = provider.received.length;
      const noRoom = await gw.post('/api/sms/provider1', { phone: VALID_PHONE, text: 'during back-off' });
      expect(noRoom.status).toBe(429);
      expect(Number(noRoom.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = await noRoom.json();
      expect(body).toMatchObject({ code: 'RATE_LIMIT.PROVIDER_EXCEEDED', details: { provider: 'provider1' } });
      expect(provider.received.length).toBe(callsBefore);
      const row = await gw.gateway.database.repository.findById(body.details.message_id);
      expect(row).toMatchObject({ status: 'failed', lastError: 'provider1 rate limit' });
    });

    it('validates the body like /api/sms/send (no row when invalid)', async () => {
      const rows = await gw.rowCount();
      const res = await gw.post('/api/sms/provider1', { phone: '123', text: 'x' });
      expect(res.status).toBe(400);
      expect(await gw.rowCount()).toBe(rows);
    });
  });

  describe('operator endpoints', () => {
    it('GET /api/sms/rate-limits shows per-provider and global counts, limits and flags', async () => {
      const res = await gw.get('/api/sms/rate-limits');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.global).toMatchObject({ limit: 200, is_limited: false, current_count: expect.any(Number) });
      for (const p of ['provider1', 'provider2', 'provider3']) {
        expect(body.providers[p]).toMatchObject({ limit: 5, current_count: expect.any(Number), is_limited: expect.any(Boolean), remaining: expect.any(Number) });
      }
      expect(body.providers.provider1.weight).toBe(3);
    });

    it('GET /api/sms/distribution-stats counts sends per provider; POST .../reset clears them', async () => {
      const before = await (await gw.get('/api/sms/distribution-stats')).json();
      expect(before).toMatchObject({ strategy: 'smooth-weighted-round-robin', weights: { provider1: 3, provider2: 2, provider3: 1 } });
      expect(before.counts.provider1).toBeGreaterThanOrEqual(1);
      const reset = await gw.post('/api/sms/distribution-stats/reset', {});
      expect(reset.status).toBe(200);
      expect(await reset.json()).toEqual({ success: true, message: 'Distribution stats reset' });
      const after = await (await gw.get('/api/sms/distribution-stats')).json();
      expect(after).toMatchObject({ total: 0, since: expect.any(Number) });
    });

    it('GET /api/sms/providers lists url, limit, weight, health and current count', async () => {
      const body = await (await gw.get('/api/sms/providers')).json();
      expect(body.total_rate_limit).toBe(200);
      expect(body.providers.map((p: { id: string }) => p.id)).toEqual(['provider1', 'provider2', 'provider3']);
      expect(body.providers[0]).toMatchObject({
        url: `${provider.server.url}/api/sms/provider1`,
        rate_limit: 5,
        weight: 3,
        health: 'available',
        current_count: expect.any(Number),
      });
    });

    it.each(['provider1', 'provider2', 'provider3'])('GET /api/sms/%s/status describes that provider', async (id) => {
      const res = await gw.get(`/api/sms/${id}/status`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id, rate_limit: 5, health: 'available', stale: true });
    });

    it('GET /api/sms/health lists all providers; a state never written counts as available and stale', async () => {
      const body = await (await gw.get('/api/sms/health')).json();
      expect(Object.keys(body.providers)).toEqual(['provider1', 'provider2', 'provider3']);
      expect(body.available_count).toBe(3);
      expect(body.providers.provider1).toMatchObject({ state: 'available', stored_state: null, stale: true });
    });

    it('answers unknown routes with a JSON 404', async () => {
      const res = await gw.get('/api/sms/provider4/status');
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'REQUEST.NOT_FOUND' });
    });
  });

  describe('OpenAPI and Swagger UI', () => {
    const GUIDE_PATHS: [string, string][] = [
      ['get', '/health'],
      ['post', '/api/sms/'],
      ['post', '/api/sms/send'],
      ['get', '/api/sms/rate-limits'],
      ['get', '/api/sms/health'],
      ['get', '/api/sms/health/{provider_id}'],
      ['post', '/api/sms/health/{provider_id}/reset'],
      ['get', '/api/sms/distribution-stats'],
      ['post', '/api/sms/distribution-stats/reset'],
      ['get', '/api/sms/requests'],
      ['get', '/api/sms/requests/{request_id}'],
      ['post', '/api/sms/provider1'],
      ['post', '/api/sms/provider2'],
      ['post', '/api/sms/provider3'],
      ['get', '/api/sms/providers'],
      ['get', '/api/sms/provider1/status'],
      ['get', '/api/sms/provider2/status'],
      ['get', '/api/sms/provider3/status'],
    ];

    it('serves an OpenAPI 3.1 document at /openapi.json with every path of the original guide', async () => {
      const doc = await (await gw.get('/openapi.json')).json();
      expect(doc.openapi).toBe('3.1.0');
      for (const [method, path] of GUIDE_PATHS) {
        expect({ path, method, operation: Boolean(doc.paths[path]?.[method]) }).toEqual({ path, method, operation: true });
        expect(Object.keys(doc.paths[path][method].responses)).toContain('200');
      }
      const send = doc.paths['/api/sms/send'].post;
      expect(Object.keys(send.responses)).toEqual(expect.arrayContaining(['200', '400', '409', '413', '415', '429', '503']));
      expect(send.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SendSmsRequest' });
      expect(doc.components.schemas.ErrorResponse).toBeDefined();
    });

    it('serves Swagger UI at /docs', async () => {
      const res = await fetch(`${gw.url}/docs/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('swagger-ui');
    });
  });
});
