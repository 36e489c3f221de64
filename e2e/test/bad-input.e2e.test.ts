/**
 * Scenario 9: a bad-input sweep over every endpoint of the gateway and of the health monitor —
 * random bytes, huge and negative numbers, unicode edge cases, very long strings, SQL and script
 * fragments, path-traversal ids, duplicate and malformed headers, missing or wrong keys. Every
 * answer must be a 4xx (never a 5xx, never a dropped connection), nothing may be stored, queued or
 * sent, and every service must still be healthy afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { clientsFor } from '../src/clients';
import { isFailure, rawRequest, request, type RequestOptions } from '../src/http.client';
import { openQueue, sumOf, totalJobs, waitUntilAllFinal } from '../src/scenario.helpers';
import { useStack, withLogs } from '../src/stack.fixture';

const stack = useStack({ label: 'bad-input', dispatchers: 1, env: { MAX_SEGMENTS: '10', BODY_LIMIT_BYTES: '65536' } });

const VALID_PHONE = '01711000000';

interface Case {
  name: string;
  /** 'gateway' (default) or 'monitor'. */
  target?: 'gateway' | 'monitor';
  method: string;
  /** Raw path (not normalised: traversal segments reach the server as written). */
  path: string;
  /** Which key to send: the API key (default), the admin key, none, or a wrong one. */
  auth?: 'api' | 'admin' | 'none' | 'wrong' | 'empty-bearer' | 'basic';
  headers?: Array<[string, string]>;
  body?: string | Buffer | object;
}

const phonesThatAreNotPhones: unknown[] = [
  '',
  ' ',
  '-1',
  '0',
  '1e308',
  'Infinity',
  'NaN',
  '+99999999999999999999',
  '9'.repeat(1000),
  `${VALID_PHONE}\u0000`,
  `\u202e${VALID_PHONE}`,
  '0171😀1000000',
  '\ud800\udfff\ud800',
  `${VALID_PHONE}'; DROP TABLE sms_requests;--`,
  "' OR '1'='1",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  1e308,
  -8801711000000,
  8801711000000,
  -0,
  null,
  true,
  {},
  [VALID_PHONE],
];

const textsThatAreNotTexts: unknown[] = [
  '',
  '   \t\n ',
  'x'.repeat(10001),
  'x'.repeat(2000), // 14 GSM-7 segments > MAX_SEGMENTS
  '😀'.repeat(400), // UCS-2, far above MAX_SEGMENTS
  123,
  -1e308,
  null,
  ['hi'],
  { text: 'hi' },
];

function sendBodies(): Array<{ name: string; body: string | Buffer | object; headers?: Array<[string, string]> }> {
  const json: Array<[string, string]> = [['Content-Type', 'application/json']];
  const out: Array<{ name: string; body: string | Buffer | object; headers?: Array<[string, string]> }> = [
    { name: 'random bytes as JSON', body: randomBytes(512), headers: json },
    { name: 'random bytes, no content type', body: randomBytes(512) },
    { name: 'truncated JSON', body: `{"phone":"${VALID_PHONE}","text":"hi"`, headers: json },
    { name: 'JSON null', body: 'null', headers: json },
    { name: 'JSON array', body: `[{"phone":"${VALID_PHONE}","text":"hi"}]`, headers: json },
    { name: 'JSON string', body: '"hello"', headers: json },
    { name: 'JSON number', body: '1e999', headers: json },
    { name: 'empty object', body: {} },
    { name: 'empty body with JSON type', body: '', headers: json },
    { name: 'unknown field', body: { phone: VALID_PHONE, text: 'hi', priority: 1 } },
    { name: '__proto__ field', body: `{"phone":"${VALID_PHONE}","text":"hi","__proto__":{"admin":true}}`, headers: json },
    { name: 'constructor.prototype field', body: `{"phone":"${VALID_PHONE}","text":"hi","constructor":{"prototype":{"x":1}}}`, headers: json },
    { name: 'duplicate key, last one empty', body: `{"phone":"${VALID_PHONE}","text":"hi","text":""}`, headers: json },
    { name: 'text/plain with JSON', body: JSON.stringify({ phone: VALID_PHONE, text: 'hi' }), headers: [['Content-Type', 'text/plain']] },
    { name: 'form encoded', body: `phone=${VALID_PHONE}&text=hi`, headers: [['Content-Type', 'application/x-www-form-urlencoded']] },
    { name: 'utf-16 charset', body: JSON.stringify({ phone: VALID_PHONE, text: 'hi' }), headers: [['Content-Type', 'application/json; charset=utf-16']] },
    { name: 'gzip claimed, plain sent', body: JSON.stringify({ phone: VALID_PHONE, text: 'hi' }), headers: [...json, ['Content-Encoding', 'gzip']] },
    { name: 'body above BODY_LIMIT_BYTES', body: { phone: VALID_PHONE, text: 'a'.repeat(70000) } },
    {
      name: 'duplicate Content-Type (json, text/plain) with bad JSON',
      body: '{"phone":',
      headers: [
        ['Content-Type', 'application/json'],
        ['Content-Type', 'text/plain'],
      ],
    },
    { name: 'Idempotency-Key too long', body: { phone: VALID_PHONE, text: 'hi' }, headers: [['Idempotency-Key', 'k'.repeat(300)]] },
    { name: 'Idempotency-Key not ASCII', body: { phone: VALID_PHONE, text: 'hi' }, headers: [['Idempotency-Key', 'cl\u00e9']] },
    { name: 'Idempotency-Key blank', body: { phone: VALID_PHONE, text: 'hi' }, headers: [['Idempotency-Key', '   ']] },
  ];
  phonesThatAreNotPhones.forEach((phone, i) => out.push({ name: `phone #${i} ${JSON.stringify(phone)?.slice(0, 40)}`, body: { phone, text: 'hi' } }));
  textsThatAreNotTexts.forEach((text, i) => out.push({ name: `text #${i} ${JSON.stringify(text)?.slice(0, 40)}`, body: { phone: VALID_PHONE, text } }));
  return out;
}

function cases(): Case[] {
  const out: Case[] = [];
  const bodies = sendBodies();
  for (const path of ['/api/sms/send', '/api/sms/']) {
    for (const b of bodies) out.push({ name: `POST ${path}: ${b.name}`, method: 'POST', path, body: b.body, headers: b.headers });
  }
  for (const p of ['provider1', 'provider2', 'provider3']) {
    for (const b of bodies) out.push({ name: `POST /api/sms/${p}: ${b.name}`, method: 'POST', path: `/api/sms/${p}`, auth: 'admin', body: b.body, headers: b.headers });
  }

  // Keys: a valid body without the right key must not be accepted.
  const good = { phone: VALID_PHONE, text: 'a valid message that must not be stored' };
  for (const auth of ['none', 'wrong', 'empty-bearer', 'basic'] as const) {
    out.push({ name: `POST /api/sms/send with ${auth} key`, method: 'POST', path: '/api/sms/send', auth, body: good });
    out.push({ name: `GET /api/sms/requests with ${auth} key`, method: 'GET', path: '/api/sms/requests', auth });
  }
  for (const auth of ['none', 'wrong', 'api'] as const) {
    out.push({ name: `direct send with ${auth} key instead of the admin key`, method: 'POST', path: '/api/sms/provider1', auth, body: good });
    out.push({ name: `health reset with ${auth} key instead of the admin key`, method: 'POST', path: '/api/sms/health/provider1/reset', auth });
    out.push({ name: `distribution reset with ${auth} key instead of the admin key`, method: 'POST', path: '/api/sms/distribution-stats/reset', auth });
  }

  const badIds = [
    '..%2F..%2Fetc%2Fpasswd',
    '..',
    '%2e%2e',
    '..%5c..%5cwindows%5cwin.ini',
    "'%20OR%20'1'%3D'1",
    '1%20OR%201%3D1',
    '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    'a'.repeat(5000),
    '%00',
    '%E0%A4%A',
    '%F0%9F%98%80',
    '-1',
    '99999999999999999999999999',
    randomUUID(), // well formed, unknown: 404
    '00000000-0000-0000-0000-000000000000',
    `${randomUUID()}%00`,
  ];
  for (const id of badIds) out.push({ name: `GET /api/sms/requests/${id.slice(0, 40)}`, method: 'GET', path: `/api/sms/requests/${id}` });
  const badQueries = [
    'limit=-1',
    'limit=0',
    'limit=501',
    'limit=1e309',
    'limit=99999999999999999999',
    'limit=abc',
    'limit=1.5',
    'limit=',
    'limit=1&limit=2',
    'status=bogus',
    "status=sent'--",
    'status=sent%00',
    'status[]=sent',
    'cursor=garbage',
    `cursor=${'x'.repeat(300)}`,
    'cursor=%00',
    `cursor=${encodeURIComponent("' OR 1=1--")}`,
    'offset=5',
    '__proto__=1',
    'constructor[prototype][x]=1',
  ];
  for (const q of badQueries) out.push({ name: `GET /api/sms/requests?${q.slice(0, 40)}`, method: 'GET', path: `/api/sms/requests?${q}` });

  const badProviders = ['provider4', 'provider0', '__proto__', 'constructor', 'toString', '..%2F..%2F', 'provider1%00', '%E0%A4%A', 'p'.repeat(3000)];
  for (const p of badProviders) {
    out.push({ name: `GET /api/sms/health/${p.slice(0, 30)}`, method: 'GET', path: `/api/sms/health/${p}` });
    out.push({ name: `POST /api/sms/health/${p.slice(0, 30)}/reset`, method: 'POST', path: `/api/sms/health/${p}/reset`, auth: 'admin' });
    out.push({ name: `GET /api/sms/${p.slice(0, 30)}/status`, method: 'GET', path: `/api/sms/${p}/status` });
    out.push({ name: `POST /api/sms/${p.slice(0, 30)} (direct send)`, method: 'POST', path: `/api/sms/${p}`, auth: 'admin', body: good });
    out.push({ name: `monitor GET /status/${p.slice(0, 30)}`, target: 'monitor', method: 'GET', path: `/status/${p}` });
    out.push({ name: `monitor POST /status/${p.slice(0, 30)}/reset`, target: 'monitor', method: 'POST', path: `/status/${p}/reset` });
  }
  out.push({ name: 'monitor POST reset with random bytes as JSON', target: 'monitor', method: 'POST', path: '/status/provider1/reset', body: randomBytes(256), headers: [['Content-Type', 'application/json']] });
  out.push({ name: 'monitor GET /../../etc/passwd', target: 'monitor', method: 'GET', path: '/../../etc/passwd' });

  for (const [method, path] of [
    ['PUT', '/api/sms/send'],
    ['DELETE', `/api/sms/requests/${randomUUID()}`],
    ['PATCH', '/api/sms/requests'],
    ['GET', '/../../etc/passwd'],
    ['GET', '/docs/../../package.json'],
    ['GET', '/docs/%2e%2e/%2e%2e/package.json'],
    ['GET', '/api/sms/../../../../etc/passwd'],
    ['GET', '/%00'],
    ['GET', `/${'a'.repeat(6000)}`],
  ] as const) {
    out.push({ name: `${method} ${path.slice(0, 50)}`, method, path, body: method === 'PUT' ? good : undefined });
  }
  return out;
}

function authHeaders(auth: Case['auth'], apiKey: string, adminKey: string): Array<[string, string]> {
  switch (auth ?? 'api') {
    case 'api':
      return [['Authorization', `Bearer ${apiKey}`]];
    case 'admin':
      return [['Authorization', `Bearer ${adminKey}`]];
    case 'wrong':
      return [['Authorization', `Bearer ${apiKey}x`]];
    case 'empty-bearer':
      return [['Authorization', 'Bearer ']];
    case 'basic':
      return [['Authorization', `Basic ${Buffer.from(`user:${apiKey}`).toString('base64')}`]];
    default:
      return [];
  }
}

/** Requests no well-behaved client can produce, written on a raw socket. */
function rawCases(host: string): Array<{ name: string; bytes: Buffer | string }> {
  const body = JSON.stringify({ phone: VALID_PHONE, text: 'raw' });
  return [
    { name: 'random bytes as a request', bytes: randomBytes(400) },
    { name: 'control byte in a header value', bytes: `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Bad: a\u0001b\r\n\r\n` },
    {
      name: 'two different Content-Length headers',
      bytes: `POST /api/sms/send HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: 5\r\n\r\n${body}`,
    },
    {
      name: 'Content-Length and Transfer-Encoding together (smuggling)',
      bytes: `POST /api/sms/send HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    },
    { name: 'bad chunk size', bytes: `POST /api/sms/send HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n` },
    { name: 'headers above 16 KB', bytes: `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n` },
    { name: 'no Host header', bytes: 'GET /api/sms/requests HTTP/1.1\r\n\r\n' },
    { name: 'HTTP/9.9', bytes: `GET /health HTTP/9.9\r\nHost: ${host}\r\n\r\n` },
    { name: 'absolute-form URI to another host', bytes: `GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: ${host}\r\n\r\n` },
  ];
}

describe('bad input on every endpoint', () => {
  it(
    'answers only 4xx, stores, queues and sends nothing, and every service stays healthy',
    withLogs(stack, async () => {
      const s = stack();
      const { gateway, mocks } = clientsFor(s);
      await mocks.resetAll();
      const queue = openQueue(s);
      try {
        const rowsBefore = (await gateway.listAll()).length;
        const jobsBefore = await totalJobs(queue);

        const bad: string[] = [];
        const all = cases();
        for (const c of all) {
          const base = c.target === 'monitor' ? s.monitorUrl : s.gatewayUrl;
          const headers = [...(c.target === 'monitor' ? [] : authHeaders(c.auth, s.apiKey, s.adminKey)), ...(c.headers ?? [])];
          const opts: RequestOptions = { method: c.method, headers, body: c.body, timeoutMs: 10000, agent: false };
          const r = await request(`${base}${c.path}`, opts);
          if (isFailure(r)) bad.push(`${c.name}: no answer (${r.code ?? ''} ${r.error})`);
          else if (r.status < 400 || r.status > 499) bad.push(`${c.name}: ${r.status} ${r.text.slice(0, 160)}`);
          else if (!/json/.test(String(r.headers['content-type'] ?? '')))
            bad.push(`${c.name}: ${r.status} without a JSON error body (${r.headers['content-type']})`);
          else if (r.json && typeof r.json === 'object' && /at .+\.(ts|js):\d+/.test(r.text)) bad.push(`${c.name}: a stack trace leaked: ${r.text.slice(0, 160)}`);
        }
        const host = new URL(s.gatewayUrl).host;
        for (const rc of rawCases(host)) {
          for (const [name, base] of [
            ['gateway', s.gatewayUrl],
            ['monitor', s.monitorUrl],
          ] as const) {
            const r = await rawRequest(base, rc.bytes);
            // A parser error may also close the connection without an answer; never a 2xx/3xx/5xx.
            if (r.status !== 0 && (r.status < 400 || r.status > 499)) bad.push(`raw to ${name}: ${rc.name}: ${r.head.split('\r\n')[0]}`);
          }
        }
        process.stderr.write(`[e2e:bad-input] ${all.length} HTTP cases and ${rawCases(host).length * 2} raw cases sent\n`);
        // One assertion over everything, so a failure shows every broken case and every side effect.
        expect({
          answers_outside_4xx: bad,
          rows_created: (await gateway.listAll()).length - rowsBefore,
          jobs_created: (await totalJobs(queue)) - jobsBefore,
          sends_reaching_providers: sumOf(await mocks.allStats(), 'received'),
        }).toEqual({ answers_outside_4xx: [], rows_created: 0, jobs_created: 0, sends_reaching_providers: 0 });
      } finally {
        await queue.close();
      }

      // Every service is still up and healthy.
      const urls = [`${s.gatewayUrl}/health`, `${s.monitorUrl}/health`, ...s.dispatcherUrls.map((u) => `${u}/health`)];
      for (const u of urls) {
        const r = await request(u, { timeoutMs: 3000, agent: false });
        expect({ url: u, status: isFailure(r) ? r.error : r.status }).toEqual({ url: u, status: 200 });
      }
      expect(s.unexpectedExits).toEqual([]);
    }),
  );

  it(
    'stores and sends texts with SQL, script and unicode edge cases exactly as given (they are data, not input errors)',
    withLogs(stack, async () => {
      const { gateway, mocks } = clientsFor(stack());
      await mocks.resetAll();
      const texts = [
        "Robert'); DROP TABLE sms_requests;--",
        '<script>alert(document.cookie)</script>',
        '${process.env.ADMIN_API_KEY} {{7*7}} %s %n',
        '👩‍👩‍👧‍👦 family ZWJ sequence',
        'RTL \u202eevil\u202c override',
        'e\u0301 combining accent, ﬁ ligature, \u00a0nbsp',
        'null byte \u0000 inside',
        'GSM extension chars: €[]{}\\^~|',
      ];
      const results = await Promise.all(texts.map((t, i) => gateway.send(`0171100${String(1000 + i)}`, t)));
      const ids: string[] = [];
      results.forEach((r, i) => {
        expect({ text: texts[i], status: isFailure(r) ? r.error : r.status }).toEqual({ text: texts[i], status: 200 });
        ids.push((r as { json: { message_id: string } }).json.message_id);
      });
      const rows = await waitUntilAllFinal(gateway, ids, 30000);
      expect(ids.map((id) => rows.get(id)?.text)).toEqual(texts);
      expect(ids.map((id) => rows.get(id)?.status)).toEqual(texts.map(() => 'sent'));
    }),
  );

  it(
    'refuses a text with an unpaired UTF-16 surrogate, or else stores it unchanged',
    withLogs(stack, async () => {
      const { gateway } = clientsFor(stack());
      const text = 'lone surrogate \ud83d here';
      const r = await gateway.send(VALID_PHONE, text);
      if (isFailure(r)) throw new Error(`no answer: ${r.error}`);
      if (r.status === 400) return;
      expect(r.status).toBe(200);
      const stored = await gateway.getRequest(r.json.message_id);
      expect(stored?.text).toBe(text);
    }),
  );
});
