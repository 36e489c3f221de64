/**
 * The e2e stack: the real processes (three provider mocks, the gateway, N dispatchers, the health
 * monitor) started through scripts/launcher.js, with a redis-server of its own on a free port (AOF
 * on) and a SQLite file in a temp dir. Everything listens on 127.0.0.1 on free ports, so a suite
 * never collides with a developer's stack or with another test.
 *
 * Stopping is guaranteed three ways: `stop()` in afterAll, a process 'exit' / signal safety net that
 * SIGKILLs every child by PID, and the launcher's own SIGKILL after its stop timeout.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isAlive, startStack, type StackHandle } from '../../scripts/launcher';

/** Lines kept per process (all incarnations) for failure messages. */
const KEEP_LINES = 400;

export interface E2EStackOptions {
  /** Label used in the temp dir name and in failure messages. */
  label: string;
  /** Number of dispatchers; default 1. */
  dispatchers?: number;
  /** Extra environment of every child (rate limits, health settings, mock settings...). */
  env?: Record<string, string>;
  /** Readiness timeout of each process, in ms; default 90000 (2 cores, tsx cold start). */
  readyTimeoutMs?: number;
}

export interface E2EStack {
  handle: StackHandle;
  label: string;
  /** Base URLs. */
  gatewayUrl: string;
  monitorUrl: string;
  dispatcherUrls: string[];
  /** Base URL of each mock (http://127.0.0.1:port), by provider id. */
  mockUrls: Record<ProviderId, string>;
  redisUrl: string;
  redisPrefix: string;
  databaseFile: string;
  dataDir: string;
  apiKey: string;
  adminKey: string;
  /** The environment every child got. */
  env: Record<string, string>;
  /** Last `n` lines of every process (or only `names`), for failure messages. */
  tail(n?: number, names?: string[]): string;
  /** Lines of one process (all incarnations) matching `re`. */
  grep(name: string, re: RegExp): string[];
  /** Processes that exited without being asked to, since start. */
  unexpectedExits: Array<{ name: string; code: number | null; signal: string | null; at: number }>;
  stop(): Promise<void>;
}

export const PROVIDERS = ['provider1', 'provider2', 'provider3'] as const;
export type ProviderId = (typeof PROVIDERS)[number];

const live = new Set<StackHandle>();
let safetyNetInstalled = false;

/** SIGKILLs, by PID, every child of every stack still running (synchronous: runs in 'exit'). */
function killAllByPid(): void {
  for (const handle of live) {
    for (const pid of Object.values(handle.pids())) {
      if (pid && isAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it exited between the check and the kill; nothing left to do
        }
      }
    }
  }
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', killAllByPid);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllByPid();
      process.exit(130);
    });
  }
}

const verbose = () => process.env.E2E_VERBOSE === '1' || process.env.E2E_VERBOSE === 'true';

/**
 * Starts a complete stack and waits until every process answers its health check.
 * On a start-up failure, the launcher has already stopped what it started; the error names the
 * process and carries its last lines.
 */
export async function startE2EStack(options: E2EStackOptions): Promise<E2EStack> {
  installSafetyNet();
  const dispatchers = options.dispatchers ?? 1;
  // Ports outside the kernel's ephemeral range: a process that reconnects in a loop to a stopped
  // Redis (or gateway) on an ephemeral port can connect to itself or take the port as its own source
  // port, and the restart then fails with EADDRINUSE.
  const [gatewayPort, monitorPort, m1, m2, m3, redisPort, dispatcherBase] = await stablePorts(6, dispatchers);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `twillow-e2e-${options.label}-`));
  const databaseFile = path.join(dataDir, 'e2e.db');
  const apiKey = `e2e-${randomBytes(12).toString('hex')}`;
  const adminKey = `e2e-admin-${randomBytes(12).toString('hex')}`;
  const redisPrefix = `e2e${randomBytes(3).toString('hex')}`;
  const redisUrl = `redis://127.0.0.1:${redisPort}`;

  const lines = new Map<string, string[]>();
  const record = (name: string, line: string) => {
    let buf = lines.get(name);
    if (!buf) lines.set(name, (buf = []));
    buf.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (buf.length > KEEP_LINES) buf.splice(0, buf.length - KEEP_LINES);
  };

  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DEBUG: 'false',
    REDIS_PREFIX: redisPrefix,
    DATABASE_URL: `file:${databaseFile}`,
    API_KEYS: apiKey,
    ADMIN_API_KEY: adminKey,
    CORS_ORIGINS: '',
    SHUTDOWN_TIMEOUT_MS: '8000',
    ...options.env,
  };

  let handle: StackHandle;
  try {
    handle = await startStack({
      envFile: false,
      env,
      ports: { gateway: gatewayPort, healthMonitor: monitorPort, dispatcher: dispatcherBase, mocks: [m1, m2, m3] },
      dispatchers,
      redis: 'own',
      redisUrl,
      dataDir,
      output: verbose() ? process.stderr : null,
      onLine: record,
      readyTimeoutMs: options.readyTimeoutMs ?? 90000,
      stopTimeoutMs: 10000,
    });
  } catch (err) {
    // The launcher stopped whatever it had started; the temp dir is ours to remove.
    if (!process.env.E2E_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  live.add(handle);

  const unexpectedExits: E2EStack['unexpectedExits'] = [];
  handle.on('unexpected-exit', (e) => unexpectedExits.push({ name: e.name, code: e.code, signal: e.signal, at: Date.now() }));

  const missing = (['gateway', 'health-monitor', 'dispatcher-1', 'provider1', 'provider2', 'provider3', 'redis'] as const).filter(
    (n) => !handle.processes[n],
  );
  if (missing.length) {
    await handle.stop();
    live.delete(handle);
    throw new Error(`the stack is incomplete: ${missing.join(', ')} did not start (does its src/main.ts exist yet?)`);
  }

  const tail = (n = 25, names?: string[]) => {
    const wanted = names ?? [...lines.keys()];
    return wanted
      .map((name) => {
        const buf = lines.get(name) ?? [];
        return `--- ${name} (last ${Math.min(n, buf.length)} of ${buf.length} lines) ---\n${buf.slice(-n).join('\n')}`;
      })
      .join('\n');
  };

  const stack: E2EStack = {
    handle,
    label: options.label,
    gatewayUrl: handle.urls.gateway as string,
    monitorUrl: handle.urls.healthMonitor as string,
    dispatcherUrls: handle.urls.dispatchers,
    mockUrls: { provider1: `http://127.0.0.1:${m1}`, provider2: `http://127.0.0.1:${m2}`, provider3: `http://127.0.0.1:${m3}` },
    redisUrl,
    redisPrefix,
    databaseFile,
    dataDir,
    apiKey,
    adminKey,
    env: handle.env,
    tail,
    grep: (name, re) => (lines.get(name) ?? []).filter((l) => re.test(l)),
    unexpectedExits,
    async stop() {
      try {
        await handle.stop();
      } finally {
        killAllByPid();
        live.delete(handle);
        if (!process.env.E2E_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  return stack;
}

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // not Linux: fall back to the IANA dynamic range
  }
  return [49152, 65535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * `single` free ports and then the first of `run` consecutive free ports (the launcher gives
 * dispatcher-i base + i - 1), all picked at random below the ephemeral range, so they are not
 * handed out as source ports of outgoing connections.
 */
async function stablePorts(single: number, run: number): Promise<number[]> {
  const [ephemeralLo] = ephemeralRange();
  const lo = 20000;
  const hi = Math.max(lo + 2000, Math.min(ephemeralLo, 65536)) - run - 1;
  const taken = new Set<number>();
  const pick = async (length: number): Promise<number> => {
    for (let attempt = 0; attempt < 500; attempt += 1) {
      const base = lo + Math.floor(Math.random() * (hi - lo));
      let ok = true;
      for (let i = 0; i < length && ok; i += 1) ok = !taken.has(base + i) && (await canListen(base + i));
      if (ok) {
        for (let i = 0; i < length; i += 1) taken.add(base + i);
        return base;
      }
    }
    throw new Error(`no ${length} free consecutive port(s) found between ${lo} and ${hi}`);
  };
  const out: number[] = [];
  for (let i = 0; i < single; i += 1) out.push(await pick(1));
  out.push(await pick(Math.max(1, run)));
  return out;
}

/**
 * Wraps a scenario body so that a failure message carries the recent lines of every process.
 * Use as `it(name, scenario(stack, async () => {...}), timeout)` with a getter for the stack.
 */
export function withLogs(getStack: () => E2EStack | undefined, body: () => Promise<void>, lines = 30): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      let stack: E2EStack | undefined;
      try {
        stack = getStack();
      } catch {
        stack = undefined; // the stack never started; beforeAll already reported why
      }
      if (stack && err instanceof Error) {
        const exits = stack.unexpectedExits.length
          ? `\nunexpected exits: ${stack.unexpectedExits.map((e) => `${e.name} (${e.signal ?? `code ${e.code}`})`).join(', ')}`
          : '';
        err.message += `${exits}\n\nRecent process output (${stack.label}):\n${stack.tail(lines)}`;
      }
      throw err;
    }
  };
}

/**
 * Starts one stack for a test file (beforeAll) and stops it afterwards (afterAll), whatever the
 * tests did. Returns a getter: `const stack = useStack({...}); ... stack().gatewayUrl`.
 */
export function useStack(options: E2EStackOptions, startTimeoutMs = 240000): () => E2EStack {
  let current: E2EStack | undefined;
  beforeAll(async () => {
    const t0 = Date.now();
    current = await startE2EStack(options);
    // Visible in the jest output: start-up is the largest fixed cost of the suite.
    process.stderr.write(`[e2e:${options.label}] stack ready in ${Date.now() - t0} ms\n`);
  }, startTimeoutMs);
  afterAll(async () => {
    if (current) await current.stop();
  }, 60000);
  return () => {
    if (!current) throw new Error(`the ${options.label} stack did not start (see the beforeAll error)`);
    return current;
  };
}
