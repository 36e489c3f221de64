/**
 * The developer guide, checked against the software:
 * - the README's curl examples run against a stack started like `npm start` does (own redis-server,
 *   free ports, throwaway data directory), and the SMS they send is read back as sent;
 * - every symptom marked `<!-- symptom: name -->` in docs/troubleshooting.md is provoked for real
 *   (services started from source with a closed Redis port, a bad variable, a taken port, ...) and
 *   the documented text must be exactly what the software prints.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freeConsecutivePorts, freePorts, startStack, type StackHandle } from '../../scripts/launcher.js';

const root = path.resolve(__dirname, '../..');
const GATEWAY_ENTRY = 'services/ingest-gateway/src/main.ts';
const DISPATCHER_ENTRY = 'services/dispatcher/src/main.ts';
const MONITOR_ENTRY = 'services/health-monitor/src/main.ts';
/** The gateway URL the README's examples use. */
const README_GATEWAY = 'http://127.0.0.1:8000';

interface Block {
  lang: string;
  text: string;
}

/** Code blocks that follow a `<!-- kind: name -->` marker line, by name. */
function markedBlocks(file: string, kind: 'example' | 'symptom'): Map<string, Block> {
  const markdown = fs.readFileSync(path.join(root, file), 'utf8');
  const blocks = new Map<string, Block>();
  const re = new RegExp(`<!-- ${kind}: ([\\w-]+) -->\\s*\\n\`\`\`(\\w*)\\n([\\s\\S]*?)\\n\`\`\``, 'g');
  for (const m of markdown.matchAll(re)) {
    if (blocks.has(m[1])) throw new Error(`${file}: ${kind} ${m[1]} is marked twice`);
    blocks.set(m[1], { lang: m[2], text: m[3] });
  }
  return blocks;
}

function mustGet(blocks: Map<string, Block>, name: string): Block {
  const block = blocks.get(name);
  if (!block) throw new Error(`no block marked ${name}; marked: ${[...blocks.keys()].join(', ')}`);
  return block;
}

/** Replaces each documented value with the one of this run; every documented value must occur. */
function substitute(text: string, replacements: [string, string][]): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`the documented text no longer contains "${from}":\n${text}`);
    out = out.split(from).join(to);
  }
  return out;
}

/** True when `output` holds `line` as printed, or inside a JSON log line's string. */
function printed(output: string, line: string): boolean {
  return output.includes(line) || output.includes(JSON.stringify(line).slice(1, -1));
}

function withoutRequestId(value: unknown): unknown {
  const { request_id: _id, ...rest } = value as Record<string, unknown>;
  return rest;
}

// --- running the README's shell examples --------------------------------------------------------

/** Splits one shell command into words (quotes and backslash-newlines, which the examples use). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  const src = command.replace(/\\\n/g, ' ');
  for (let i = 0; i < src.length; i += 1) {
    const c = src[i];
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      current += src.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1);
      current += src.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/**
 * Runs a README example: with bash and curl when both exist (exactly what a reader runs), else the
 * same request with fetch (variable assignments and `$VAR` expanded, curl's -X -H -d honoured).
 */
async function runExample(script: string): Promise<string> {
  const hasCurl = spawnSync('sh', ['-c', 'command -v curl && command -v bash'], { encoding: 'utf8' }).status === 0;
  if (hasCurl) {
    const res = spawnSync('bash', ['-euc', script], { encoding: 'utf8', timeout: 30000 });
    if (res.status !== 0) throw new Error(`example failed (exit ${res.status}): ${res.stderr}\n${script}`);
    return res.stdout;
  }
  const vars: Record<string, string> = {};
  let out = '';
  const joined = script.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const assign = /^([A-Z_]+)=(\S+)$/.exec(line);
    if (assign) {
      vars[assign[1]] = assign[2];
      continue;
    }
    const words = shellWords(line.replace(/\$([A-Z_]+)/g, (_, v: string) => vars[v] ?? ''));
    if (words[0] !== 'curl') throw new Error(`cannot run without curl: ${line}`);
    let method = 'GET';
    let body: string | undefined;
    let url = '';
    const headers: Record<string, string> = {};
    for (let i = 1; i < words.length; i += 1) {
      const w = words[i];
      if (w === '-s') continue;
      if (w === '-X') method = words[++i];
      else if (w === '-H') {
        const [k, ...v] = words[++i].split(':');
        headers[k.trim()] = v.join(':').trim();
      } else if (w === '-d') {
        body = words[++i];
        if (method === 'GET') method = 'POST';
      } else if (/^https?:\/\//.test(w)) url = w;
      else throw new Error(`unsupported curl argument ${w}`);
    }
    const res = await fetch(url, { method, headers, body });
    out += await res.text();
  }
  return out;
}

// --- starting services from source ---------------------------------------------------------------

interface Started {
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves true once `text` was printed, false if the process exited first or time ran out. */
  waitFor(text: string, timeoutMs: number): Promise<boolean>;
  kill(): Promise<void>;
}

const running = new Set<Started>();

/** `node --conditions=development --require tsx/cjs <entry>` with exactly `env` over a minimal base. */
function startService(entry: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--conditions=development', '--require', 'tsx/cjs', entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const started: Started = {
    output: () => out,
    exited,
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (printed(out, text)) return true;
        if (done) return printed(out, text);
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    },
    async kill() {
      if (!done) child.kill('SIGKILL');
      await exited;
      running.delete(started);
    },
  };
  running.add(started);
  return started;
}

async function closedPort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

describe('the developer guide', () => {
  let dir: string;
  let stack: StackHandle | undefined;
  const stackLines: string[] = [];
  const symptoms = markedBlocks('docs/troubleshooting.md', 'symptom');
  const checked = new Set<string>();

  /** Checks a documented text symptom against what the software printed. */
  function expectPrinted(name: string, output: string, replacements: [string, string][] = []): void {
    const expected = substitute(mustGet(symptoms, name).text.trim(), replacements);
    if (!printed(output, expected)) throw new Error(`symptom ${name}: the software did not print\n  ${expected}\nIt printed:\n${output.slice(-4000)}`);
    checked.add(name);
  }

  /** Checks a documented JSON body symptom (request ids differ per request). */
  function expectBody(name: string, actual: unknown, replacements: [string, string][] = []): void {
    const block = mustGet(symptoms, name);
    expect(block.lang).toBe('json');
    const documented = JSON.parse(substitute(block.text, replacements)) as Record<string, unknown>;
    if ('request_id' in documented) expect((actual as Record<string, unknown>).request_id).toEqual(expect.any(String));
    expect(withoutRequestId(actual)).toEqual(withoutRequestId(documented));
    checked.add(name);
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-docs-'));
    const [redisPort, gateway, healthMonitor, m1, m2, m3] = await freePorts(6);
    const dispatcher = await freeConsecutivePorts(1);
    stack = await startStack({
      envFile: false,
      redis: 'own',
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      dataDir: dir,
      ports: { gateway, dispatcher, healthMonitor, mocks: [m1, m2, m3] },
      // As npm start: no API keys (the local stack runs open).
      env: { REDIS_PREFIX: 'docs-test', LOG_LEVEL: 'warn', API_KEYS: undefined, ADMIN_API_KEY: undefined },
      output: null,
      onLine: (name, line) => stackLines.push(`[${name}] ${line}`),
      stopTimeoutMs: 5000,
    });
  }, 180000);

  afterAll(async () => {
    for (const s of [...running]) await s.kill();
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('README: the curl example sends an SMS and the read-back example shows it sent', async () => {
    const examples = markedBlocks('README.md', 'example');
    const gw = stack!.urls.gateway!;
    const send = substitute(mustGet(examples, 'send').text, [[README_GATEWAY, gw]]);
    const sent = JSON.parse(await runExample(send)) as Record<string, unknown>;
    expect(sent).toMatchObject({ success: true, queued: true, status: 'pending', message: 'SMS queued for sending' });
    expect(sent.message_id).toMatch(/^[0-9a-f-]{36}$/);

    const readTemplate = substitute(mustGet(examples, 'read').text, [[README_GATEWAY, gw]]);
    expect(readTemplate).toMatch(/^MESSAGE_ID=\S+$/m);
    const read = readTemplate.replace(/^MESSAGE_ID=\S+$/m, `MESSAGE_ID=${String(sent.message_id)}`);
    let record: Record<string, unknown> = {};
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      record = JSON.parse(await runExample(read)) as Record<string, unknown>;
      if (record.status === 'sent' || record.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(record).toMatchObject({ id: sent.message_id, status: 'sent', phone_normalized: '+8801921317475', text: 'Hello from Twillow' });
    expect(record.responses).toEqual([expect.objectContaining({ outcome: 'success', status_code: 200 })]);
  }, 120000);

  it('Redis unreachable: the gateway prints the documented lines and answers /health and sends as documented', async () => {
    const redisPort = await closedPort();
    const [port] = await freePorts(1);
    const gw = startService(GATEWAY_ENTRY, {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DATABASE_URL: stack!.env.DATABASE_URL!,
      GATEWAY_PORT: String(port),
      REDIS_PREFIX: 'docs-test-noredis',
    });
    expect(await gw.waitFor('listening on', 60000)).toBe(true);
    const redisSubst: [string, string][] = [['redis://127.0.0.1:6379', `redis://127.0.0.1:${redisPort}`]];
    expectPrinted('redis-unreachable-retry', gw.output(), redisSubst);
    expectPrinted('redis-unreachable-gateway', gw.output(), redisSubst);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(503);
    expectBody('redis-unreachable-health', await health.json());

    const res = await fetch(`http://127.0.0.1:${port}/api/sms/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '01921317475', text: 'no redis' }),
    });
    expect(res.status).toBe(503);
    expectBody('redis-unreachable-send', await res.json());
    await gw.kill();
  }, 120000);

  it('Redis unreachable: the dispatcher (exit 1) and the health monitor print the documented lines', async () => {
    const redisPort = await closedPort();
    const env = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, DATABASE_URL: stack!.env.DATABASE_URL! };
    const dispatcher = startService(DISPATCHER_ENTRY, { ...env, DISPATCHER_PORT: '0' });
    const monitor = startService(MONITOR_ENTRY, { ...env, HEALTH_MONITOR_PORT: '0' });
    const redisSubst: [string, string][] = [['redis://127.0.0.1:6379', `redis://127.0.0.1:${redisPort}`]];
    const monitorLine = substitute(mustGet(symptoms, 'redis-unreachable-health-monitor').text.trim(), redisSubst);
    const [dispatcherCode, monitorPrinted] = await Promise.all([dispatcher.exited, monitor.waitFor(monitorLine, 90000)]);
    expect(dispatcherCode).toBe(1);
    expectPrinted('redis-unreachable-dispatcher', dispatcher.output(), redisSubst);
    expect(monitorPrinted).toBe(true);
    expectPrinted('redis-unreachable-health-monitor', monitor.output(), redisSubst);
    running.delete(dispatcher);
    // Only the line is checked: the monitor's exit after it is slow while Redis is away (see the report).
    await monitor.kill();
  }, 150000);

  it('npm start without redis-server and without a Redis: the launcher refuses with the documented line', async () => {
    const redisPort = await closedPort();
    const [gateway, dispatcher, healthMonitor, m1, m2, m3] = await freePorts(6);
    let message = '';
    await startStack({
      envFile: false,
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      dataDir: path.join(dir, 'no-redis'),
      ports: { gateway, dispatcher, healthMonitor, mocks: [m1, m2, m3] },
      env: { PATH: path.join(dir, 'empty-path') },
      output: null,
    }).then(
      async (s) => {
        await s.stop();
        throw new Error('the stack started without redis-server');
      },
      (err: Error) => (message = err.message),
    );
    // start.js prints the launcher's error after this prefix.
    expectPrinted('launcher-no-redis-server', `[launcher] could not start the stack: ${message}`, [
      ['redis://127.0.0.1:6379', `redis://127.0.0.1:${redisPort}`],
    ]);
  }, 60000);

  it('a bad variable: the gateway exits 1 with the documented ConfigError line', async () => {
    const gw = startService(GATEWAY_ENTRY, { PROVIDER_RATE_LIMIT: 'abc' });
    expect(await gw.exited).toBe(1);
    expectPrinted('config-invalid', gw.output());
    running.delete(gw);
  }, 60000);

  it('a taken port: the gateway exits 1 with the documented line, and the launcher refuses to start', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const gw = startService(GATEWAY_ENTRY, {
        REDIS_URL: stack!.urls.redis,
        DATABASE_URL: stack!.env.DATABASE_URL!,
        GATEWAY_PORT: String(taken),
        REDIS_PREFIX: 'docs-test-port',
      });
      expect(await gw.exited).toBe(1);
      expectPrinted('port-in-use-gateway', gw.output(), [['8000', String(taken)]]);
      running.delete(gw);

      const [dispatcher, healthMonitor, m1, m2, m3] = await freePorts(5);
      let message = '';
      await startStack({
        envFile: false,
        redisUrl: stack!.urls.redis,
        dataDir: path.join(dir, 'port'),
        ports: { gateway: taken, dispatcher, healthMonitor, mocks: [m1, m2, m3] },
        output: null,
      }).then(
        async (s) => {
          await s.stop();
          throw new Error('the stack started on a taken port');
        },
        (err: Error) => (message = err.message),
      );
      expectPrinted('port-in-use-launcher', `[launcher] could not start the stack: ${message}`, [['8000', String(taken)]]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 120000);

  it('a database that was never migrated: the gateway exits 1 with the documented line', async () => {
    const missing = path.join(dir, 'never-migrated', 'twillow.db');
    const gw = startService(GATEWAY_ENTRY, { REDIS_URL: stack!.urls.redis, DATABASE_URL: `file:${missing}`, GATEWAY_PORT: '0' });
    expect(await gw.exited).toBe(1);
    expectPrinted('db-not-migrated', gw.output(), [['/path/to/twillow/data/twillow.db', missing]]);
    running.delete(gw);
  }, 60000);

  it('every provider unavailable, then the ingest limit spent: 503 and 429 bodies as documented', async () => {
    const prefix = 'docs-test-limits';
    const redis = new Redis(stack!.urls.redis, { lazyConnect: true });
    await redis.connect();
    const now = Date.now();
    for (const provider of ['provider1', 'provider2', 'provider3']) {
      const state = { provider, state: 'unavailable', since: now, reason: 'docs test', updated_at: now, cooldown_ms: 600000, probes_remaining: 0 };
      await redis.hset(`${prefix}:health:state`, provider, JSON.stringify(state));
    }
    await redis.quit();

    const [port] = await freePorts(1);
    const gw = startService(GATEWAY_ENTRY, {
      REDIS_URL: stack!.urls.redis,
      DATABASE_URL: stack!.env.DATABASE_URL!,
      GATEWAY_PORT: String(port),
      REDIS_PREFIX: prefix,
      HEALTH_STATE_MAX_AGE_MS: '600000',
      INGEST_RATE_LIMIT: '2',
      INGEST_RATE_WINDOW_MS: '60000',
      SWEEP_INTERVAL_MS: '600000',
    });
    expect(await gw.waitFor('listening on', 60000)).toBe(true);
    const send = () =>
      fetch(`http://127.0.0.1:${port}/api/sms/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '01921317475', text: 'limits' }),
      });

    const first = await send();
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('5');
    expectBody('no-provider-503', await first.json());

    await (await send()).arrayBuffer();
    const third = await send();
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toEqual(expect.any(String));
    expectBody('ingest-429', await third.json(), [
      ['at most 200 sends per 1000 ms', 'at most 2 sends per 60000 ms'],
      ['"current_count":201', '"current_count":3'],
      ['"limit":200', '"limit":2'],
      ['"window_ms":1000', '"window_ms":60000'],
    ]);
    await gw.kill();
  }, 120000);

  it('checks every symptom marked in docs/troubleshooting.md', () => {
    expect([...checked].sort()).toEqual([...symptoms.keys()].sort());
  });
});
