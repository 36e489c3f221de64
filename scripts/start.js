#!/usr/bin/env node
'use strict';
/**
 * `npm start`: the whole stack on this machine, from source. Settings come from `.env` and the
 * environment (see .env.example); DISPATCHERS=N starts N dispatchers on DISPATCHER_PORT, +1, ...
 * Ctrl-C or SIGTERM stops everything it started; a child that dies stops the stack (exit 1).
 */
const { startStack } = require('./launcher');

const say = (line) => process.stdout.write(`[launcher] ${line}\n`);

async function main() {
  const abort = new AbortController();
  let handle = null;
  let exiting = false;

  const shutdown = async (reason, code) => {
    if (exiting) {
      // A second Ctrl-C: do not wait for graceful shutdowns any longer.
      say(`${reason} again; killing everything`);
      if (handle) for (const p of Object.values(handle.processes)) if (!p.exited) p.child.kill('SIGKILL');
      process.exit(1);
    }
    exiting = true;
    say(`${reason}; stopping everything`);
    abort.abort();
    if (handle) await handle.stop();
    say('stopped');
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => void shutdown(`received ${sig}`, 0));
  }

  try {
    handle = await startStack({ signal: abort.signal });
  } catch (err) {
    if (exiting) return; // a signal arrived during start-up; shutdown() exits
    say(`could not start the stack: ${err.message}`);
    process.exit(1);
  }
  if (exiting) return;

  handle.on('unexpected-exit', ({ name, code, signal }) => {
    void shutdown(`${name} died (${signal ? `signal ${signal}` : `exit code ${code}`})`, 1);
  });

  const { urls } = handle;
  const rows = [
    ['gateway', urls.gateway],
    ['API docs', urls.docs],
    ['health monitor', urls.healthMonitor],
    ...urls.dispatchers.map((u, i) => [`dispatcher-${i + 1}`, u]),
    ...Object.entries(urls.providers).map(([id, u]) => [id, u]),
    ['redis', `${urls.redis}${handle.ownsRedis ? ' (started by npm start)' : ''}`],
    ['database', urls.databaseUrl],
  ].filter(([, u]) => u);
  say('stack is up:');
  for (const [label, u] of rows) say(`  ${label.padEnd(15)} ${u}`);
  // Machine-readable: tests and tools read the pid of every process started.
  say(`pids ${JSON.stringify({ launcher: process.pid, ...handle.pids() })}`);
  say('press Ctrl-C to stop');
}

main().catch((err) => {
  say(`unexpected failure: ${err.stack || err}`);
  process.exit(1);
});
