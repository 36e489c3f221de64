/**
 * The launcher behind `npm start`, started for real: its own redis-server on a free port, every
 * service on a free port, a throwaway data directory. Whatever services exist are started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeConsecutivePorts, freePorts, isAlive, pingRedis, startStack, type ExitEvent, type StackHandle } from '../../scripts/launcher.js';

const root = path.resolve(__dirname, '../..');

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function healthOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

describe('startStack', () => {
  let dir: string;
  let stack: StackHandle | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-launcher-'));
    const [redisPort, gateway, healthMonitor, m1, m2, m3] = await freePorts(6);
    const dispatcher = await freeConsecutivePorts(2);
    stack = await startStack({
      envFile: false,
      redis: 'own',
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      dataDir: dir,
      dispatchers: 2,
      // dispatcher-2 listens on dispatcher + 1.
      ports: { gateway, dispatcher, healthMonitor, mocks: [m1, m2, m3] },
      env: { REDIS_PREFIX: 'launcher-test', LOG_LEVEL: 'warn' },
      output: null,
      onLine: (name, line) => lines.push(`[${name}] ${line}`),
      stopTimeoutMs: 5000,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('owns a redis-server that answers PING, with its AOF in the data directory', async () => {
    expect(stack!.ownsRedis).toBe(true);
    expect(await pingRedis(stack!.urls.redis)).toBe(true);
    expect(isAlive(stack!.processes.redis.pid)).toBe(true);
    expect(stack!.env.DATABASE_URL).toBe(`file:${path.join(dir, 'twillow.db')}`);
  });

  it('starts every service that exists, each alive and answering GET /health', async () => {
    const expected = [
      ...(fs.existsSync(path.join(root, 'mocks/provider/src/main.ts')) ? ['provider1', 'provider2', 'provider3'] : []),
      ...(fs.existsSync(path.join(root, 'services/ingest-gateway/src/main.ts')) ? ['gateway'] : []),
      ...(fs.existsSync(path.join(root, 'services/dispatcher/src/main.ts')) ? ['dispatcher-1', 'dispatcher-2'] : []),
      ...(fs.existsSync(path.join(root, 'services/health-monitor/src/main.ts')) ? ['health-monitor'] : []),
    ];
    expect(Object.keys(stack!.processes).sort()).toEqual(['redis', ...expected].sort());
    for (const name of expected) {
      const proc = stack!.processes[name];
      expect(isAlive(proc.pid)).toBe(true);
      expect(await healthOk(proc.healthUrl!)).toBe(true);
    }
  });

  it('reports a child killed from outside as an unexpected exit, and starts it again on request', async () => {
    const name = Object.keys(stack!.processes).find((n) => n !== 'redis') ?? 'redis';
    const seen = new Promise<ExitEvent>((resolve) => stack!.once('unexpected-exit', resolve));
    const pid = stack!.processes[name].pid!;
    process.kill(pid, 'SIGKILL');
    const event = await seen;
    expect(event).toMatchObject({ name, pid, signal: 'SIGKILL', expected: false });
    expect(lines.some((l) => l.startsWith('[launcher]') && l.includes(`${name} (pid ${pid}) exited unexpectedly`))).toBe(true);

    const restarted = await stack!.start(name);
    expect(restarted.pid).not.toBe(pid);
    expect(isAlive(restarted.pid)).toBe(true);
  });

  it('kill() stops one process without reporting it as unexpected', async () => {
    const name = Object.keys(stack!.processes).find((n) => n.startsWith('dispatcher')) ?? 'redis';
    let unexpected = false;
    const onUnexpected = () => (unexpected = true);
    stack!.on('unexpected-exit', onUnexpected);
    const pid = stack!.processes[name].pid;
    await stack!.kill(name, 'SIGTERM');
    stack!.off('unexpected-exit', onUnexpected);
    expect(isAlive(pid)).toBe(false);
    expect(unexpected).toBe(false);
    expect(stack!.processes[name].exited).toBe(true);
  });

  it('stop() leaves none of its processes alive', async () => {
    const pids = Object.values(stack!.pids());
    await stack!.stop();
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
  });
});

describe('node scripts/start.js', () => {
  let child: ChildProcess | undefined;
  let dir: string;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts its own redis-server when none answers, and on SIGINT stops every process it reported', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-start-'));
    const [redisPort, gateway, dispatcher, healthMonitor, m1, m2, m3] = await freePorts(7);
    let output = '';
    child = spawn(process.execPath, ['scripts/start.js'], {
      cwd: root,
      env: {
        ...process.env,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        TWILLOW_DATA_DIR: dir,
        DATABASE_URL: `file:${path.join(dir, 'start.db')}`,
        GATEWAY_PORT: String(gateway),
        DISPATCHER_PORT: String(dispatcher),
        HEALTH_MONITOR_PORT: String(healthMonitor),
        PROVIDER1_URL: `http://127.0.0.1:${m1}/api/sms/provider1`,
        PROVIDER2_URL: `http://127.0.0.1:${m2}/api/sms/provider2`,
        PROVIDER3_URL: `http://127.0.0.1:${m3}/api/sms/provider3`,
        DISPATCHERS: '1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

    await waitUntil(() => /\[launcher\] pids \{.*\}\n/.test(output) || child!.exitCode !== null, 90000, 'the pids line of start.js');
    const match = /\[launcher\] pids (\{.*\})\n/.exec(output);
    if (!match) throw new Error(`start.js did not report its pids:\n${output.slice(-3000)}`);
    const pids = JSON.parse(match[1]) as Record<string, number>;
    expect(pids.launcher).toBe(child.pid);
    expect(pids.redis).toEqual(expect.any(Number));
    expect(Object.values(pids).filter((pid) => !isAlive(pid))).toEqual([]);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await waitUntil(() => Object.values(pids).every((pid) => !isAlive(pid)), 5000, 'every reported pid to exit');
    expect(Object.entries(pids).filter(([, pid]) => isAlive(pid))).toEqual([]);
    expect(await pingRedis(`redis://127.0.0.1:${redisPort}`)).toBe(false);
  });
});
