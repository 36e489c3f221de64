#!/usr/bin/env node
'use strict';
/**
 * `npm run bench [-- flags]`: the benchmark suite of scripts/bench/ (baselines, ingest, dispatch,
 * end-to-end rate-limit accuracy), run sequentially in one process tree; the report goes to
 * results/bench/<timestamp>/ and results/bench/latest/. `npm run bench -- --help` lists the flags.
 *
 * Plain CommonJS so that it runs before anything is built: it only starts scripts/bench/main.ts
 * from source with tsx, forwards SIGINT/SIGTERM to it (it stops what it started) and exits with its code.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const child = spawn(
  process.execPath,
  ['--conditions=development', '--require', 'tsx/cjs', path.join(__dirname, 'bench', 'main.ts'), ...process.argv.slice(2)],
  { cwd: ROOT, stdio: 'inherit' },
);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
