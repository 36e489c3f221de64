import http from 'node:http';

/** One answered request: status, headers and the parsed JSON body. */
export interface JsonReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A lean keep-alive HTTP client for the tests. node:http costs far less CPU per request than
 * fetch, which matters for the tests that send on a schedule on a busy 2-core machine.
 */
export class JsonClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 100 });

  /** Rejects with an error named TimeoutError when no answer comes within `timeoutMs`. */
  request(method: string, url: string, body?: unknown, timeoutMs = 5000): Promise<JsonReply> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        { method, agent: this.agent, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
            } catch (err) {
              reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`, { cause: err }));
            }
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' }));
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
