'use strict';
/**
 * The local stack launcher: Redis (reused or owned), migrations, the provider mocks, the gateway,
 * N dispatchers and the health monitor, each a child process run from source with tsx.
 *
 * Used by `npm start` (scripts/start.js) and, programmatically, by end-to-end tests:
 *
 *   const { startStack } = require('./scripts/launcher');
 *   const stack = await startStack({ ports: { gateway: 18000 }, dispatchers: 2, redis: 'own', redisUrl: 'redis://127.0.0.1:16399' });
 *   await fetch(`${stack.urls.gateway}/health`);
 *   await stack.kill('dispatcher-1');  await stack.start('dispatcher-1');
 *   await stack.stop();
 *
 * Plain CommonJS on purpose: it must run before anything is built. Types: scripts/launcher.d.ts.
 */
const { spawn } = require('node:child_process');
const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const DEFAULTS = {
  redisUrl: 'redis://127.0.0.1:6379',
  gateway: 8000,
  dispatcher: 8090,
  healthMonitor: 8080,
  mocks: [8071, 8072, 8073],
  databaseFile: 'twillow.db',
};
const PROVIDERS = ['provider1', 'provider2', 'provider3'];
/** Entry point of each kind of process, relative to the root. */
const ENTRIES = {
  mocks: 'mocks/provider/src/main.ts',
  gateway: 'services/ingest-gateway/src/main.ts',
  dispatcher: 'services/dispatcher/src/main.ts',
  'health-monitor': 'services/health-monitor/src/main.ts',
};
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']);
const RECENT_LINES = 200;

/** Node arguments that run a TypeScript entry from source (workspace packages resolve to src/). */
function tsxArgs(entry) {
  return ['--conditions=development', '--require', 'tsx/cjs', entry];
}

/** Reads `<root>/.env` without touching process.env; returns {} when the file is absent. */
function readEnvFile(file) {
  if (!file || !fs.existsSync(file)) return {};
  return require('dotenv').parse(fs.readFileSync(file));
}

function intOr(value, fallback, name) {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a whole number, got "${value}"`);
  return n;
}

function parseUrl(url, name) {
  try {
    return new URL(url);
  } catch {
    throw new Error(`${name} is not a valid URL: "${url}"`);
  }
}

function isLocalHost(hostname) {
  return LOCAL_HOSTS.has(hostname);
}

/** Redacts the password of a redis:// URL for printing. */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Sends PING (after AUTH when the URL carries credentials) over a raw TCP/TLS socket.
 * Resolves true when something answering the Redis protocol is there (+PONG, or an auth error,
 * which still proves a Redis), false on refusal, timeout or a non-Redis answer.
 */
function pingRedis(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const port = Number(u.port || 6379);
    const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const socket = u.protocol === 'rediss:' ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
    let buf = '';
    const done = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on(u.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => {
      const cmds = [];
      const user = decodeURIComponent(u.username || '');
      const pass = decodeURIComponent(u.password || '');
      if (pass) cmds.push(user ? ['AUTH', user, pass] : ['AUTH', pass]);
      cmds.push(['PING']);
      socket.write(cmds.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
    });
    socket.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.includes('+PONG')) done(true);
      else if (/^-(NOAUTH|WRONGPASS|ERR)/m.test(buf) && buf.endsWith('\r\n')) done(true);
      else if (buf.length > 0 && !/^[+\-:$*]/.test(buf)) done(false);
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/** Absolute path of `bin` found on PATH, or null. */
function whichSync(bin, envPath = process.env.PATH || '') {
  if (bin.includes('/')) return fs.existsSync(bin) ? bin : null;
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, bin);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory; keep looking
    }
  }
  return null;
}

/**
 * Ports are drawn below the kernel's ephemeral range: a port the OS hands out with listen(0) comes from
 * that range, and an outgoing connection can take it again before the service we meant it for binds.
 */
function ephemeralStart() {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 12000) return low;
  } catch {
    // not Linux; assume the IANA range 49152-65535
  }
  return 49152;
}
const handedOut = new Set();

/** A TCP port free on 127.0.0.1 right now, below the ephemeral range, not handed out before by this process. */
async function freePort() {
  const high = ephemeralStart() - 1;
  const low = 10000;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if (await portFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('found no free port');
}

/** True when nothing listens on host:port (we can bind it). */
function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** The first of `n` consecutive free ports (for DISPATCHER_PORT with several dispatchers). */
async function freeConsecutivePorts(n) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = await freePort();
    let ok = true;
    for (let p = first + 1; p < first + n && ok; p += 1) ok = !handedOut.has(p) && (await portFree(p));
    if (ok) {
      for (let p = first + 1; p < first + n; p += 1) handedOut.add(p);
      return first;
    }
  }
  throw new Error(`found no ${n} consecutive free ports`);
}

/** `n` distinct free ports. */
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET url; resolves true on a 2xx. */
async function httpOk(url, timeoutMs = 1000) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Runs a command to completion, streaming its output through `emit`; rejects on a non-zero exit. */
function runToCompletion(name, cmd, args, opts, emit) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    const onLine = (line) => {
      lines.push(line);
      if (lines.length > RECENT_LINES) lines.shift();
      emit(name, line);
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${name} failed (${signal ? `signal ${signal}` : `exit code ${code}`}):\n${lines.slice(-20).join('\n')}`));
    });
  });
}

/**
 * Starts the stack. Every option defaults from the environment (`.env` at the root, then
 * process.env, then `options.env`), then from the defaults of packages/config.
 *
 * @param {import('./launcher').StackOptions} [options]
 * @returns {Promise<import('./launcher').StackHandle>}
 */
async function startStack(options = {}) {
  const root = options.root ? path.resolve(options.root) : ROOT;
  const envFile = options.envFile === false ? null : options.envFile || path.join(root, '.env');
  // dotenv semantics: real environment variables win over the file; explicit overrides win over both.
  const baseEnv = { ...readEnvFile(envFile), ...process.env, ...(options.env || {}) };
  for (const [k, v] of Object.entries(baseEnv)) if (v === undefined) delete baseEnv[k];

  const ports = options.ports || {};
  const dataDir = path.resolve(root, options.dataDir || baseEnv.TWILLOW_DATA_DIR || 'data');
  const redisUrl = options.redisUrl || baseEnv.REDIS_URL || DEFAULTS.redisUrl;
  const redisMode = options.redis || 'auto';
  if (!['auto', 'own', 'external'].includes(redisMode)) throw new Error(`options.redis must be auto, own or external, got ${redisMode}`);
  const dispatcherCount = intOr(options.dispatchers ?? baseEnv.DISPATCHERS, 1, 'DISPATCHERS');
  const gatewayPort = intOr(ports.gateway ?? baseEnv.GATEWAY_PORT, DEFAULTS.gateway, 'GATEWAY_PORT');
  const dispatcherBase = intOr(ports.dispatcher ?? baseEnv.DISPATCHER_PORT, DEFAULTS.dispatcher, 'DISPATCHER_PORT');
  const monitorPort = intOr(ports.healthMonitor ?? baseEnv.HEALTH_MONITOR_PORT, DEFAULTS.healthMonitor, 'HEALTH_MONITOR_PORT');
  const readyTimeoutMs = options.readyTimeoutMs ?? 60000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10000;
  const only = options.services ? new Set(options.services) : null;
  const wanted = (kind) => !only || only.has(kind);
  const bindHost = baseEnv.HOST || '127.0.0.1';
  const probeHost = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost;
  const out = options.output === undefined ? process.stdout : options.output;

  const emitter = new EventEmitter();
  const emit = (name, line) => {
    if (options.onLine) options.onLine(name, line);
    if (out) out.write(`[${name}] ${line}\n`);
  };
  const say = (line) => emit('launcher', line);

  // The shared environment of every child. DATABASE_URL is made absolute: migrations run from
  // packages/db while the services run from the root, and a relative SQLite path would differ.
  fs.mkdirSync(dataDir, { recursive: true });
  let databaseUrl = baseEnv.DATABASE_URL || `file:${path.join(dataDir, DEFAULTS.databaseFile)}`;
  const dbMatch = /^(file:|sqlite:\/\/\/)(.*)$/.exec(databaseUrl);
  if (dbMatch) {
    const dbPath = path.resolve(root, dbMatch[2]);
    databaseUrl = `file:${dbPath}`;
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  }

  // Providers: a mock runs for every PROVIDERn_URL that points at this machine; its port is the
  // URL's port (ports.mocks[i] overrides both). A remote URL is used as is and no mock starts.
  const mocks = [];
  const providerEnv = {};
  PROVIDERS.forEach((id, i) => {
    const key = `PROVIDER${i + 1}_URL`;
    let url = baseEnv[key];
    const override = ports.mocks && ports.mocks[i];
    if (override !== undefined || !url) url = `http://127.0.0.1:${intOr(override, DEFAULTS.mocks[i], key)}/api/sms/${id}`;
    const u = parseUrl(url, key);
    providerEnv[key] = url;
    if (isLocalHost(u.hostname) && wanted('mocks')) {
      mocks.push({ id, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)), url });
    }
  });

  const sharedEnv = { ...baseEnv, ...providerEnv, REDIS_URL: redisUrl, DATABASE_URL: databaseUrl };

  /** @type {Record<string, any>} */
  const processes = {};
  const specs = {};
  let stopping = false;
  let stopPromise = null;

  function spawnSpec(spec) {
    const child = spawn(spec.cmd, spec.args, {
      cwd: root,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a Ctrl-C in the terminal reaches only the launcher, which then stops the
      // children in order (services, then mocks, then Redis) instead of all at once.
      detached: true,
    });
    const proc = {
      name: spec.name,
      kind: spec.kind,
      pid: child.pid,
      port: spec.port,
      url: spec.url,
      healthUrl: spec.healthUrl,
      child,
      exited: false,
      exitCode: null,
      signal: null,
      expectedExit: false,
      recentLines: [],
      exitPromise: null,
    };
    const onLine = (line) => {
      proc.recentLines.push(line);
      if (proc.recentLines.length > RECENT_LINES) proc.recentLines.shift();
      emit(spec.name, line);
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    proc.exitPromise = new Promise((resolve) => {
      child.on('error', (err) => {
        onLine(`failed to start: ${err.message}`);
      });
      child.on('close', (code, signal) => {
        proc.exited = true;
        proc.exitCode = code;
        proc.signal = signal;
        const expected = proc.expectedExit || stopping;
        if (!expected) {
          say(`${spec.name} (pid ${proc.pid}) exited unexpectedly with ${signal ? `signal ${signal}` : `code ${code}`}`);
        }
        emitter.emit('exit', { name: spec.name, pid: proc.pid, code, signal, expected });
        if (!expected) emitter.emit('unexpected-exit', { name: spec.name, pid: proc.pid, code, signal, expected });
        resolve();
      });
    });
    processes[spec.name] = proc;
    return proc;
  }

  async function waitReady(name, timeoutMs = readyTimeoutMs) {
    const proc = processes[name];
    if (!proc) throw new Error(`no process named ${name}`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (stopping) throw new Error(`stopped while waiting for ${name}`);
      if (proc.exited) {
        throw new Error(
          `${name} exited (${proc.signal ? `signal ${proc.signal}` : `code ${proc.exitCode}`}) before it was ready; last lines:\n${proc.recentLines.slice(-20).join('\n')}`,
        );
      }
      const ok = proc.kind === 'redis' ? await pingRedis(redisUrl, 500) : await httpOk(proc.healthUrl, 1000);
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`${name} did not become ready within ${timeoutMs} ms (${proc.healthUrl || redact(redisUrl)}); last lines:\n${proc.recentLines.slice(-20).join('\n')}`);
  }

  async function terminate(proc, signal = 'SIGTERM') {
    if (!proc || proc.exited) return;
    proc.expectedExit = true;
    try {
      proc.child.kill(signal);
    } catch {
      // already gone
    }
    if (signal === 'SIGKILL') {
      await proc.exitPromise;
      return;
    }
    const timer = setTimeout(() => {
      if (!proc.exited) {
        say(`${proc.name} did not stop within ${stopTimeoutMs} ms; sending SIGKILL`);
        try {
          proc.child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    }, stopTimeoutMs);
    await proc.exitPromise;
    clearTimeout(timer);
  }

  async function kill(name, signal = 'SIGKILL') {
    const proc = processes[name];
    if (!proc) throw new Error(`no process named ${name}`);
    await terminate(proc, signal);
  }

  async function start(name) {
    const spec = specs[name];
    if (!spec) throw new Error(`no process named ${name}`);
    const current = processes[name];
    if (current && !current.exited) throw new Error(`${name} is still running (pid ${current.pid})`);
    spawnSpec(spec);
    await waitReady(name);
    return processes[name];
  }

  async function stop() {
    if (stopPromise) return stopPromise;
    stopping = true;
    stopPromise = (async () => {
      const tiers = [['gateway', 'dispatcher', 'health-monitor'], ['mock'], ['redis']];
      for (const tier of tiers) {
        await Promise.all(Object.values(processes).filter((p) => tier.includes(p.kind)).map((p) => terminate(p)));
      }
    })();
    return stopPromise;
  }

  if (options.signal) {
    if (options.signal.aborted) throw new Error('aborted before start');
    options.signal.addEventListener('abort', () => void stop(), { once: true });
  }

  const entry = (rel) => (fs.existsSync(path.join(root, rel)) ? rel : null);
  const nodeSpec = (name, kind, rel, port, extraEnv) => ({
    name,
    kind,
    cmd: process.execPath,
    args: tsxArgs(rel),
    env: { ...sharedEnv, ...extraEnv },
    port,
    url: `http://${probeHost}:${port}`,
    healthUrl: `http://${probeHost}:${port}/health`,
  });

  try {
    // 0. Ports: a process left over from an earlier run would answer /health for a new one that failed.
    const has = (kind) => wanted(kind) && Boolean(entry(ENTRIES[kind]));
    const wantedPorts = [
      ...(has('mocks') ? mocks.map((m) => [m.id, m.port]) : []),
      ...(has('gateway') ? [['gateway', gatewayPort]] : []),
      ...(has('dispatcher') ? Array.from({ length: dispatcherCount }, (_, i) => [`dispatcher-${i + 1}`, dispatcherBase + i]) : []),
      ...(has('health-monitor') ? [['health-monitor', monitorPort]] : []),
    ];
    const busy = [];
    for (const [name, port] of wantedPorts) if (!(await portFree(port, probeHost))) busy.push(`${port} (${name})`);
    if (busy.length) throw new Error(`port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use: stop what runs there or choose other ports (.env.example lists the variables)`);

    // 1. Redis.
    const redisAnswers = redisMode === 'own' ? false : await pingRedis(redisUrl);
    if (redisMode === 'own' && (await pingRedis(redisUrl))) {
      throw new Error(`options.redis is "own" but a Redis already answers at ${redact(redisUrl)}; pick a free port`);
    }
    if (redisAnswers) {
      say(`using the Redis at ${redact(redisUrl)}`);
    } else if (redisMode === 'external') {
      throw new Error(`no Redis answers at ${redact(redisUrl)}`);
    } else {
      const u = parseUrl(redisUrl, 'REDIS_URL');
      if (!isLocalHost(u.hostname)) throw new Error(`no Redis answers at ${redact(redisUrl)}, and it is not on this machine, so none can be started for it`);
      const bin = options.redisServer || whichSync('redis-server', sharedEnv.PATH);
      if (!bin) {
        throw new Error(
          `redis-server not found and no Redis at ${redact(redisUrl)}: install it with \`sudo apt-get install redis-server\` (Debian/Ubuntu) or \`brew install redis\`, or set REDIS_URL`,
        );
      }
      const port = Number(u.port || 6379);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
      if (u.password) args.push('--requirepass', decodeURIComponent(u.password));
      specs.redis = { name: 'redis', kind: 'redis', cmd: bin, args, env: { ...process.env }, port, url: redisUrl };
      say(`no Redis at ${redact(redisUrl)}; starting redis-server on port ${port} (AOF in ${dataDir})`);
      spawnSpec(specs.redis);
      await waitReady('redis', Math.min(readyTimeoutMs, 15000));
    }

    // 2. Migrations, while the mocks (which need no database) start. Services start after both:
    // a dispatcher that starts before its providers would count failures.
    const migration =
      options.migrate === false
        ? Promise.resolve()
        : (say(`applying migrations to ${databaseUrl}`),
          runToCompletion('migrate', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'db:migrate'], { cwd: root, env: sharedEnv }, emit));
    // Handled below; this keeps an early rejection from being reported as unhandled meanwhile.
    migration.catch(() => {});

    // 3. Mocks.
    const mockEntry = entry(ENTRIES.mocks);
    if (mocks.length && !mockEntry) say('skipping the provider mocks: mocks/provider/src/main.ts does not exist yet');
    const mocksReady = (async () => {
      if (!mockEntry) return;
      for (const m of mocks) {
        specs[m.id] = nodeSpec(m.id, 'mock', mockEntry, m.port, { MOCK_PROVIDER_ID: m.id, MOCK_PORT: String(m.port) });
        spawnSpec(specs[m.id]);
      }
      await Promise.all(mocks.map((m) => waitReady(m.id)));
    })();
    mocksReady.catch(() => {});
    await migration;
    await mocksReady;
    if (stopping) throw new Error('stopped during start-up');

    // 4. Gateway, dispatchers, health monitor.
    const serviceNames = [];
    const gatewayEntry = wanted('gateway') && entry(ENTRIES.gateway);
    if (wanted('gateway') && !gatewayEntry) say('skipping the gateway: services/ingest-gateway/src/main.ts does not exist yet');
    if (gatewayEntry) {
      specs.gateway = nodeSpec('gateway', 'gateway', gatewayEntry, gatewayPort, { GATEWAY_PORT: String(gatewayPort) });
      serviceNames.push('gateway');
    }
    const dispatcherEntry = wanted('dispatcher') && entry(ENTRIES.dispatcher);
    if (wanted('dispatcher') && !dispatcherEntry) say('skipping the dispatcher: services/dispatcher/src/main.ts does not exist yet');
    if (dispatcherEntry) {
      for (let i = 1; i <= dispatcherCount; i += 1) {
        const port = dispatcherBase + i - 1;
        specs[`dispatcher-${i}`] = nodeSpec(`dispatcher-${i}`, 'dispatcher', dispatcherEntry, port, { DISPATCHER_PORT: String(port) });
        serviceNames.push(`dispatcher-${i}`);
      }
    }
    const monitorEntry = wanted('health-monitor') && entry(ENTRIES['health-monitor']);
    if (wanted('health-monitor') && !monitorEntry) say('skipping the health monitor: services/health-monitor/src/main.ts does not exist yet');
    if (monitorEntry) {
      specs['health-monitor'] = nodeSpec('health-monitor', 'health-monitor', monitorEntry, monitorPort, { HEALTH_MONITOR_PORT: String(monitorPort) });
      serviceNames.push('health-monitor');
    }
    if (stopping) throw new Error('stopped during start-up');
    for (const name of serviceNames) spawnSpec(specs[name]);
    await Promise.all(serviceNames.map((n) => waitReady(n)));
  } catch (err) {
    await stop();
    throw err;
  }

  const urls = {
    redis: redisUrl,
    gateway: specs.gateway ? specs.gateway.url : null,
    docs: specs.gateway ? `${specs.gateway.url}/docs` : null,
    healthMonitor: specs['health-monitor'] ? specs['health-monitor'].url : null,
    dispatchers: Object.values(specs)
      .filter((s) => s.kind === 'dispatcher')
      .map((s) => s.url),
    providers: { ...Object.fromEntries(PROVIDERS.map((id, i) => [id, providerEnv[`PROVIDER${i + 1}_URL`]])) },
    databaseUrl,
  };

  const handle = Object.assign(emitter, {
    urls,
    processes,
    env: sharedEnv,
    dataDir,
    ownsRedis: Boolean(specs.redis),
    stop,
    kill,
    start,
    waitReady: (name, timeoutMs) => waitReady(name, timeoutMs),
    /** pid of every process started, by name (exited ones included). */
    pids: () => Object.fromEntries(Object.values(processes).map((p) => [p.name, p.pid])),
  });
  return handle;
}

module.exports = { startStack, pingRedis, freePort, freePorts, freeConsecutivePorts, portFree, isAlive, whichSync, readEnvFile, redact, ROOT };
