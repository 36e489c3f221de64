import { smsJobDataSchema } from '@twillow/contracts';
import { startGateway, VALID_E164, VALID_PHONE, type JsonResponse, type TestGateway } from './harness';

describe('POST /api/sms/send and /api/sms/', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { MAX_SEGMENTS: '3', BODY_LIMIT_BYTES: '4096', INGEST_RATE_LIMIT: '100000', LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('stores the request as pending, queues one job with the message id and answers 200 like the original', async () => {
    const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'Hello, this is a test SMS!' }, { 'x-request-id': 'req-send-1' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      success: true,
      message_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      message: 'SMS queued for sending',
      provider: null,
      queued: true,
      status: 'pending',
      phone_normalized: VALID_E164,
      encoding: 'GSM-7',
      segments: 1,
    });
    expect(res.headers.get('x-request-id')).toBe('req-send-1');

    const row = await gw.gateway.database.repository.findById(body.message_id);
    expect(row).toMatchObject({ status: 'pending', phone: VALID_PHONE, phoneNormalized: VALID_E164, text: 'Hello, this is a test SMS!', requestId: 'req-send-1' });

    const job = await gw.gateway.queue.getJob(body.message_id);
    expect(job?.id).toBe(body.message_id);
    expect(smsJobDataSchema.parse(job?.data)).toMatchObject({ message_id: body.message_id, phone: VALID_E164, request_id: 'req-send-1' });
    expect(job?.opts.attempts).toBe(1);
    expect(await gw.redis.exists(`${gw.keys.bullPrefix}:${gw.keys.smsQueue}:${body.message_id}`)).toBe(1);

    const logLine = gw.logs.find((l) => l.message === 'sms queued' && l.message_id === body.message_id);
    expect(logLine).toMatchObject({ level: 'debug', request_id: 'req-send-1', phone: '+88019*****475' });
  });

  it('accepts POST /api/sms/ the same way', async () => {
    const res = await gw.post('/api/sms/', { phone: '+8801921317475', text: 'via root' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.queued).toBe(true);
    expect(await gw.gateway.queue.getJob(body.message_id)).toBeDefined();
  });

  it.each([
    ['GSM-7 at 160 characters is one segment', 'a'.repeat(160), 'GSM-7', 1],
    ['GSM-7 at 161 characters is two segments of 153', 'a'.repeat(161), 'GSM-7', 2],
    ['GSM-7 at 306 characters is still two segments', 'a'.repeat(306), 'GSM-7', 2],
    ['extension characters count two septets (80 x € = 160)', '€'.repeat(80), 'GSM-7', 1],
    ['extension characters count two septets (81 x € = 162)', '€'.repeat(81), 'GSM-7', 2],
    ['UCS-2 at 70 characters is one segment', 'ж'.repeat(70), 'UCS-2', 1],
    ['UCS-2 at 71 characters is two segments of 67', 'ж'.repeat(71), 'UCS-2', 2],
    ['emoji make the text UCS-2', 'hello 😀', 'UCS-2', 1],
  ])('%s', async (_name, text, encoding, segments) => {
    const res = await gw.post('/api/sms/send', { phone: VALID_PHONE, text });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect({ encoding: body.encoding, segments: body.segments }).toEqual({ encoding, segments });
    const row = await gw.gateway.database.repository.findById(body.message_id);
    expect({ encoding: row?.encoding, segments: row?.segments }).toEqual({ encoding, segments });
  });

  describe('bad input: 4xx JSON with a stable code and the field; no row, no job', () => {
    const cases: [string, () => Promise<JsonResponse>, number, string, string][] = [
      ['a missing phone', () => gw.post('/api/sms/send', { text: 'hi' }), 400, 'REQUEST.VALIDATION_FAILED', 'phone'],
      ['a missing text', () => gw.post('/api/sms/send', { phone: VALID_PHONE }), 400, 'REQUEST.VALIDATION_FAILED', 'text'],
      ['a phone that is a number', () => gw.post('/api/sms/send', { phone: 8801921317475, text: 'hi' }), 400, 'REQUEST.VALIDATION_FAILED', 'phone'],
      ['a text that is an array', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: ['hi'] }), 400, 'REQUEST.VALIDATION_FAILED', 'text'],
      ['an unknown field', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'hi', priority: 'high' }), 400, 'REQUEST.UNKNOWN_FIELD', 'priority'],
      ['an impossible phone', () => gw.post('/api/sms/send', { phone: '123', text: 'hi' }), 400, 'SMS.INVALID_PHONE', 'phone'],
      ['an invalid phone of possible length', () => gw.post('/api/sms/send', { phone: '+8800000000000', text: 'hi' }), 400, 'SMS.INVALID_PHONE', 'phone'],
      ['a phone with letters', () => gw.post('/api/sms/send', { phone: '0192131747a', text: 'hi' }), 400, 'SMS.INVALID_PHONE', 'phone'],
      ['an empty text', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: '' }), 400, 'SMS.EMPTY_TEXT', 'text'],
      ['a text with an unpaired surrogate', () => gw.post('/api/sms/send', '{"phone":"01921317475","text":"lone \\ud83d here"}'), 400, 'SMS.INVALID_TEXT', 'text'],
      ['a blank text', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: '   ' }), 400, 'SMS.EMPTY_TEXT', 'text'],
      ['a text over MAX_SEGMENTS (3)', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'a'.repeat(153 * 3 + 1) }), 400, 'SMS.TOO_MANY_SEGMENTS', 'text'],
      ['emoji text over MAX_SEGMENTS counted as UCS-2', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: '😀'.repeat(101) }), 400, 'SMS.TOO_MANY_SEGMENTS', 'text'],
      ['malformed JSON', () => gw.post('/api/sms/send', '{"phone": "0192'), 400, 'REQUEST.INVALID_JSON', 'body'],
      ['a JSON array body', () => gw.post('/api/sms/send', '[1,2]'), 400, 'REQUEST.VALIDATION_FAILED', 'body'],
      ['a 1 MB body', () => gw.post('/api/sms/send', JSON.stringify({ phone: VALID_PHONE, text: 'x'.repeat(1024 * 1024) })), 413, 'REQUEST.BODY_TOO_LARGE', 'body'],
      ['a wrong content type', () => gw.post('/api/sms/send', 'phone=1&text=2', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE', 'Content-Type'],
      ['no content type', () => fetch(`${gw.url}/api/sms/send`, { method: 'POST', body: new Uint8Array(Buffer.from('{"phone":"01921317475","text":"hi"}')) }), 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE', 'Content-Type'],
      ['an empty Idempotency-Key', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'hi' }, { 'idempotency-key': ' ' }), 400, 'SMS.INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key'],
      ['an over-long Idempotency-Key', () => gw.post('/api/sms/send', { phone: VALID_PHONE, text: 'hi' }, { 'idempotency-key': 'k'.repeat(256) }), 400, 'SMS.INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key'],
    ];

    it.each(cases)('refuses %s', async (_name, send, status, code, field) => {
      const rowsBefore = await gw.rowCount();
      const jobsBefore = await gw.jobCount();
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const body = await res.json();
      expect(body).toMatchObject({ status, code, field, request_id: expect.any(String) });
      expect(typeof body.message).toBe('string');
      expect(body.stack).toBeUndefined();
      expect(await gw.rowCount()).toBe(rowsBefore);
      expect(await gw.jobCount()).toBe(jobsBefore);
    });

    it('says why a phone is refused', async () => {
      const res = await gw.post('/api/sms/send', { phone: '123', text: 'hi' });
      expect((await res.json()).message).toMatch(/not a possible phone number/);
    });
  });
});
