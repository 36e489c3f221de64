/**
 * A small HTTP client over node:http: raw control of headers (duplicates, odd bytes) and of the
 * body, and a transport error reported as a value instead of a throw so that load loops can count
 * connection resets.
 */
import http from 'node:http';
import net from 'node:net';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Raw body text. */
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: any;
  /** Time from write to the end of the answer, in ms. */
  ms: number;
}

export interface HttpFailure {
  status: 0;
  /** The transport error (ECONNRESET, ECONNREFUSED, socket hang up, timeout...). */
  error: string;
  code?: string;
  ms: number;
}

export type HttpOutcome = HttpResult | HttpFailure;

export interface RequestOptions {
  method?: string;
  /** Header list; an array value or repeated [name, value] pairs send the header several times. */
  headers?: Record<string, string | string[]> | Array<[string, string]>;
  /** A string or Buffer body; an object is sent as JSON. */
  body?: string | Buffer | object;
  timeoutMs?: number;
  agent?: http.Agent | false;
}

/** One keep-alive pool per process; 128 sockets suffice for the loads here. */
export const sharedAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });

export function isFailure(r: HttpOutcome): r is HttpFailure {
  return r.status === 0;
}

export function request(url: string, opts: RequestOptions = {}): Promise<HttpOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const u = new URL(url);
    let body: Buffer | undefined;
    const headerPairs: Array<[string, string]> = [];
    if (Array.isArray(opts.headers)) headerPairs.push(...opts.headers);
    else if (opts.headers) {
      for (const [k, v] of Object.entries(opts.headers)) {
        if (Array.isArray(v)) for (const one of v) headerPairs.push([k, one]);
        else headerPairs.push([k, v]);
      }
    }
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body)) body = opts.body;
      else if (typeof opts.body === 'string') body = Buffer.from(opts.body, 'utf8');
      else {
        body = Buffer.from(JSON.stringify(opts.body), 'utf8');
        if (!headerPairs.some(([k]) => k.toLowerCase() === 'content-type')) headerPairs.push(['Content-Type', 'application/json']);
      }
      if (!headerPairs.some(([k]) => k.toLowerCase() === 'content-length')) headerPairs.push(['Content-Length', String(body.length)]);
    }
    // With raw (array) headers node:http adds no Host header, and Node servers refuse a request without one.
    if (!headerPairs.some(([k]) => k.toLowerCase() === 'host')) headerPairs.unshift(['Host', u.host]);
    // node:http takes a flat [k, v, k, v] array to send repeated headers as they are.
    const flat = headerPairs.flat();
    let settled = false;
    const done = (r: HttpOutcome) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? (body ? 'POST' : 'GET'),
        headers: flat as unknown as http.OutgoingHttpHeaders,
        agent: opts.agent === undefined ? sharedAgent : opts.agent,
        timeout: opts.timeoutMs ?? 15000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) =>
          done({ status: 0, error: err.message, code: err.code, ms: performance.now() - started }),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          done({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms: performance.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done({ status: 0, error: err.message, code: err.code, ms: performance.now() - started }));
    if (body) req.write(body);
    req.end();
  });
}

/** GET/POST returning the result, throwing on a transport failure (for control calls). */
export async function mustRequest(url: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const r = await request(url, opts);
  if (isFailure(r)) throw new Error(`${opts.method ?? 'GET'} ${url} failed: ${r.error}`);
  return r;
}

export function summarize(r: HttpOutcome): string {
  return isFailure(r) ? `transport error ${r.code ?? ''} ${r.error}` : `${r.status} ${r.text.slice(0, 300)}`;
}

/**
 * Writes raw bytes to host:port and returns the status code of the first answer line (0 when the
 * server closed or reset without answering), for requests an HTTP client refuses to produce.
 */
export function rawRequest(baseUrl: string, bytes: Buffer | string, timeoutMs = 5000): Promise<{ status: number; head: string; error?: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, head: text.split('\r\n\r\n')[0].slice(0, 300), error });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is enough: stop once the head and the announced body are in.
      const text = Buffer.concat(chunks).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const len = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headEnd));
        if (len && Buffer.byteLength(text.slice(headEnd + 4), 'latin1') >= Number(len[1])) finish();
      }
    });
    socket.on('error', (err) => finish(err.message));
    socket.on('close', () => finish());
  });
}
