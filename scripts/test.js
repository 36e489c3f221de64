#!/usr/bin/env node
'use strict';
/**
 * `npm test`: typecheck and test every project through Nx. Tests need a real Redis: the one at
 * REDIS_URL (default redis://127.0.0.1:6379) if it answers, else a throwaway redis-server on a free
 * port (no persistence), stopped afterwards. Extra arguments go to nx (e.g. `npm test -- -p infra`).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pingRedis, freePort, whichSync, redact, ROOT } = require('./launcher');

const say = (line) => process.stdout.write(`[test] ${line}\n`);

let redis = null;
let redisDir = null;
let nx = null;

function stopRedis() {
  if (redis && redis.exitCode === null && redis.signalCode === null) redis.kill('SIGTERM');
  redis = null;
  if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
  redisDir = null;
}

async function ensureRedis() {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (await pingRedis(url)) {
    say(`using the Redis at ${redact(url)}`);
    return url;
  }
  const bin = whichSync('redis-server');
  if (!bin) {
    throw new Error(
      `redis-server not found and no Redis at ${redact(url)}: install it with \`sudo apt-get install redis-server\` (Debian/Ubuntu) or \`brew install redis\`, or set REDIS_URL`,
    );
  }
  const port = await freePort();
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-test-redis-'));
  redis = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir, '--loglevel', 'warning'], {
    stdio: 'ignore',
    detached: true,
  });
  const own = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  while (!(await pingRedis(own, 300))) {
    if (redis.exitCode !== null || Date.now() > deadline) throw new Error(`could not start redis-server on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  say(`no Redis at ${redact(url)}; started a throwaway redis-server at ${own}`);
  return own;
}

/** Sums jest's "Tests:" summary lines (one per project). */
function tally(text) {
  let passed = 0;
  let failed = 0;
  let seen = false;
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  for (const m of plain.matchAll(/Tests:\s+([^\n]*?\d+ total)/g)) {
    seen = true;
    const f = /(\d+) failed/.exec(m[1]);
    const p = /(\d+) passed/.exec(m[1]);
    if (f) failed += Number(f[1]);
    if (p) passed += Number(p[1]);
  }
  return seen ? { passed, failed } : null;
}

async function main() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (nx && nx.exitCode === null) nx.kill(sig);
      stopRedis();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('exit', stopRedis);

  const redisUrl = await ensureRedis();
  const nxBin = path.join(ROOT, 'node_modules', '.bin', 'nx');
  const env = { ...process.env, REDIS_URL: redisUrl, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' };
  if (process.stdout.isTTY && !env.NO_COLOR) env.FORCE_COLOR ??= '1';
  const extra = process.argv.slice(2);
  let captured = '';
  const runNx = (args) =>
    new Promise((resolve) => {
      const [cmd, cmdArgs] = fs.existsSync(nxBin) ? [nxBin, args] : ['npx', ['nx', ...args]];
      nx = spawn(cmd, cmdArgs, { cwd: ROOT, env, stdio: ['inherit', 'pipe', 'pipe'] });
      const keep = (chunk) => {
        captured += chunk.toString('utf8');
        if (captured.length > 4_000_000) captured = captured.slice(-2_000_000);
      };
      nx.stdout.on('data', (c) => (process.stdout.write(c), keep(c)));
      nx.stderr.on('data', (c) => (process.stderr.write(c), keep(c)));
      nx.on('error', (err) => {
        say(`could not run nx: ${err.message}`);
        resolve(1);
      });
      nx.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
  // Type checks are CPU-bound and independent: two at a time. Tests run one project at a time
  // (nx.json parallel 1) because several of them measure requests per 1-second window.
  const typecheck = await runNx(['run-many', '-t', 'typecheck', '--parallel=2', '--outputStyle=stream', ...extra]);
  const tests = await runNx(['run-many', '-t', 'test', '--outputStyle=stream', ...extra]);
  const code = typecheck || tests;
  stopRedis();
  const t = tally(captured);
  if (t) process.stdout.write(`\nTests: ${t.passed} passed, ${t.failed} failed\n`);
  process.exit(code);
}

main().catch((err) => {
  process.stderr.write(`[test] ${err.message}\n`);
  stopRedis();
  process.exit(1);
});
