import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ProviderClient } from './provider.client';
import { MAX_BODY_CHARS, deliveryUnknown, parseRetryAfter } from './send-result';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A tiny provider: records every request and answers with whatever `answer` says. */
async function startServer(answer: (req: Seen, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const body = { phone: '+8801921317475', text: 'hello', message_id: '0b6c2d7e-6a43-4a57-a1ef-8d0d3b0fb9f1' };

function reply(status: number, payload: string, headers: Record<string, string> = {}) {
  return (_req: Seen, res: http.ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(payload);
  };
}

describe('ProviderClient.send', () => {
  const client = new ProviderClient({ timeoutMs: 300, maxSockets: 4 });
  afterAll(() => client.close());

  it('POSTs the contract body as JSON with X-Request-Id and X-Message-Id to the exact provider URL', async () => {
    const server = await startServer(reply(200, JSON.stringify({ status: 'accepted', message_id: body.message_id, id: 'ref-42' })));
    try {
      const result = await client.send({ id: 'provider1', url: `${server.url}/api/sms/provider1` }, body, { requestId: 'req-7' });
      expect(server.seen).toHaveLength(1);
      const [s] = server.seen;
      expect(s.method).toBe('POST');
      expect(s.url).toBe('/api/sms/provider1');
      expect(s.headers['content-type']).toMatch(/^application\/json/);
      expect(s.headers['x-request-id']).toBe('req-7');
      expect(s.headers['x-message-id']).toBe(body.message_id);
      expect(JSON.parse(s.body)).toEqual(body);
      expect(result).toEqual({
        kind: 'success',
        statusCode: 200,
        body: JSON.stringify({ status: 'accepted', message_id: body.message_id, id: 'ref-42' }),
        providerRef: 'ref-42',
        latencyMs: expect.any(Number),
        retryAfterMs: null,
        error: null,
      });
    } finally {
      await server.close();
    }
  });

  it('uses the message id as X-Request-Id when no request id travels with the message', async () => {
    const server = await startServer(reply(200, '{"message_id":"p-1"}'));
    try {
      const result = await client.send({ id: 'provider2', url: `${server.url}/x` }, body);
      expect(server.seen[0].headers['x-request-id']).toBe(body.message_id);
      expect(result.providerRef).toBe('p-1');
    } finally {
      await server.close();
    }
  });

  it('reuses one keep-alive connection for consecutive sends', async () => {
    const clientPorts = new Set<number>();
    const server = await startServer(reply(200, '{}'));
    server.seen.length = 0;
    const tracking = http.createServer((req, res) => {
      clientPorts.add(req.socket.remotePort ?? -1);
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    await new Promise<void>((r) => tracking.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(tracking.address() as AddressInfo).port}/p`;
      for (let i = 0; i < 3; i++) expect((await client.send({ id: 'provider1', url }, body)).kind).toBe('success');
      expect(clientPorts.size).toBe(1);
    } finally {
      tracking.closeAllConnections();
      await new Promise<void>((r) => tracking.close(() => r()));
      await server.close();
    }
  });

  it('classifies 429 as throttled and reads Retry-After in ms', async () => {
    const server = await startServer(reply(429, '{"error":"slow down"}', { 'retry-after': '2' }));
    try {
      const result = await client.send({ id: 'provider1', url: server.url }, body);
      expect(result).toMatchObject({ kind: 'throttled', statusCode: 429, retryAfterMs: 2000, providerRef: null, error: 'HTTP 429' });
    } finally {
      await server.close();
    }
  });

  it('classifies 429 without Retry-After as throttled with no retry hint', async () => {
    const server = await startServer(reply(429, ''));
    try {
      expect(await client.send({ id: 'provider1', url: server.url }, body)).toMatchObject({ kind: 'throttled', retryAfterMs: null });
    } finally {
      await server.close();
    }
  });

  it.each([500, 503])('classifies %i as server_error and keeps the body', async (status) => {
    const server = await startServer(reply(status, '{"error":"boom"}'));
    try {
      expect(await client.send({ id: 'provider1', url: server.url }, body)).toMatchObject({
        kind: 'server_error',
        statusCode: status,
        body: '{"error":"boom"}',
        error: `HTTP ${status}`,
      });
    } finally {
      await server.close();
    }
  });

  it('classifies 400 as rejected (permanent)', async () => {
    const server = await startServer(reply(400, '{"code":"SMS.INVALID_PHONE"}'));
    try {
      expect(await client.send({ id: 'provider1', url: server.url }, body)).toMatchObject({ kind: 'rejected', statusCode: 400, retryAfterMs: null });
    } finally {
      await server.close();
    }
  });

  it('truncates a long answer body to MAX_BODY_CHARS', async () => {
    const server = await startServer(reply(500, 'x'.repeat(MAX_BODY_CHARS + 500)));
    try {
      const result = await client.send({ id: 'provider1', url: server.url }, body);
      expect(result.body).toHaveLength(MAX_BODY_CHARS);
    } finally {
      await server.close();
    }
  });

  it('classifies a provider that never answers as timeout after PROVIDER_TIMEOUT_MS', async () => {
    const server = await startServer(() => undefined);
    try {
      const result = await client.send({ id: 'provider1', url: server.url }, body);
      expect(result).toMatchObject({ kind: 'timeout', statusCode: null, body: null, error: 'timeout after 300 ms' });
      expect(result.latencyMs).toBeGreaterThanOrEqual(250);
      expect(deliveryUnknown(result)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('classifies a refused connection as connection_error without throwing', async () => {
    // Take a free port and release it, so nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const result = await client.send({ id: 'provider3', url: `http://127.0.0.1:${port}/api/sms/provider3` }, body);
    expect(result).toMatchObject({ kind: 'connection_error', statusCode: null, body: null, error: 'ECONNREFUSED' });
    // Refused before anything was sent: not ambiguous.
    expect(deliveryUnknown(result)).toBe(false);
  });

  it('calls a connection reset after the request was read a connection_error whose delivery is unknown', async () => {
    const server = await startServer((_req, res) => res.socket?.destroy());
    try {
      const result = await client.send({ id: 'provider1', url: server.url }, body);
      expect(result).toMatchObject({ kind: 'connection_error', statusCode: null });
      expect(deliveryUnknown(result)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('deliveryUnknown', () => {
  it('is false for every answer the provider gave (2xx, 429, 4xx, 5xx)', () => {
    for (const kind of ['success', 'throttled', 'rejected', 'server_error'] as const) expect(deliveryUnknown({ kind, error: null })).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates, and ignores garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
