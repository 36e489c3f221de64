/**
 * `npm run bench [-- flags]` (through scripts/bench.js): every benchmark of the project, one after
 * the other in this process tree, all traffic on 127.0.0.1:
 *   1. baselines  raw BullMQ add / addBulk, raw better-sqlite3 insert (1 row per transaction, batched);
 *                 bare Express, raw BullMQ no-op and HTTP-POST processing are measured inside 2 and 3,
 *                 interleaved run by run with what they are compared to;
 *   2. ingest     benchIngest (gateway POST /api/sms/send vs bare Express 5, autocannon);
 *   3. dispatch   benchDispatch (dispatcher vs raw BullMQ workers, instant mock);
 *   4. accuracy   full stack at the default limits, backlog drain rate and per-provider 1 s peaks.
 * Sections 1-3 share one redis-server of their own on a free port; section 4 starts a whole stack
 * with its own Redis. Report: results/bench/<timestamp>/ and results/bench/latest/ (report.md,
 * report.json, chart.svg, chart.png, log.txt).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startStack, type StackHandle } from '../launcher';
import { benchIngest, type IngestBenchResult } from '../../services/ingest-gateway/scripts/bench-ingest';
import { benchDispatch, formatBench, type BenchFigures as DispatchFigures } from '../../services/dispatcher/scripts/bench-dispatch';
import { benchAccuracy, type AccuracyResult } from './accuracy';
import { benchBaselines, type BaselineResult } from './baselines';
import { renderChartSvg, renderPng } from './chart';
import { loadAverage, machineInfo, ROOT, versions } from './machine';
import { chartInput, renderMarkdown, type BenchReport } from './report';

const SECTIONS = ['baselines', 'ingest', 'dispatch', 'accuracy'] as const;
type Section = (typeof SECTIONS)[number];

const HELP = `Usage: npm run bench -- [flags]

Runs the benchmarks one after the other and writes results/bench/<timestamp>/ and results/bench/latest/
(report.md, report.json, chart.svg, chart.png, log.txt). Not a test: figures depend on the machine's load.

  --quick                 1 repeat and shorter runs (a smoke run: ~1 min; a full run takes ~4-6 min)
  --only LIST             sections to run, comma-separated: ${SECTIONS.join(',')} (default: all)
  --skip LIST             sections to leave out
  --runs N                repeats per figure; the median is reported (default 3, --quick 1)
  --duration S            seconds per ingest autocannon run (default 10, --quick 3)
  --connections N         autocannon connections (default 100)
  --jobs N                jobs per dispatch run (default 3000, --quick 1000)
  --backlog N             messages in the accuracy backlog (default 3000, --quick 1500)
  --accuracy-repeats N    most accuracy repeats (default 3, --quick 1)
  --accuracy-budget S     seconds the accuracy repeats may take together (default 240)
  --out DIR               results root (default results/bench)
  --no-png                do not render chart.png
  --help`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

function parseFlags() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      skip: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      jobs: { type: 'string' },
      backlog: { type: 'string' },
      'accuracy-repeats': { type: 'string' },
      'accuracy-budget': { type: 'string' },
      out: { type: 'string' },
      'no-png': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const int = (name: keyof typeof values, dflt: number, min = 1, max = 1_000_000): number => {
    const v = values[name];
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}, got "${String(v)}"`);
    return n;
  };
  const list = (v: string | undefined): Section[] | undefined => {
    if (v === undefined) return undefined;
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of items) if (!SECTIONS.includes(s as Section)) fail(`unknown section "${s}" (known: ${SECTIONS.join(', ')})`);
    return items as Section[];
  };
  const only = list(values.only) ?? [...SECTIONS];
  const skip = new Set(list(values.skip) ?? []);
  const sections = SECTIONS.filter((s) => only.includes(s) && !skip.has(s));
  if (sections.length === 0) fail('no section left to run');
  const runs = int('runs', quick ? 1 : 3, 1, 15);
  return {
    quick,
    sections,
    runs,
    durationS: int('duration', quick ? 3 : 10, 1, 120),
    warmupS: quick ? 1 : 3,
    connections: int('connections', 100, 1, 1000),
    jobs: int('jobs', quick ? 1000 : 3000, 100, 100_000),
    backlog: int('backlog', quick ? 1500 : 3000, 100, 20_000),
    accuracyRepeats: int('accuracy-repeats', quick ? 1 : 3, 1, 5),
    accuracyBudgetS: int('accuracy-budget', 240, 10, 3600),
    baselineJobs: quick ? 2000 : 10000,
    rowsSingle: quick ? 500 : 2000,
    rowsBatched: quick ? 5000 : 20000,
    outRoot: path.resolve(ROOT, values.out ?? path.join('results', 'bench')),
    png: !values['no-png'],
  };
}

export type Flags = ReturnType<typeof parseFlags>;

const started = Date.now();
const logLines: string[] = [];
function log(line: string): void {
  const stamp = `[bench +${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
  for (const l of line.split('\n')) {
    logLines.push(`${stamp} ${l}`);
    process.stdout.write(`${stamp} ${l}\n`);
  }
}

/** A redis-server of our own on a free port (AOF on, as the launcher starts it for a stack). */
async function ownRedis(): Promise<{ url: string; handle: StackHandle; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-bench-redis-'));
  const url = `redis://127.0.0.1:${await freePort()}`;
  const handle = await startStack({ envFile: false, services: [], redis: 'own', redisUrl: url, dataDir: dir, migrate: false, output: null });
  return { url, handle, dir };
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const startedAt = new Date(started);
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const outDir = path.join(flags.outRoot, stamp);
  const latestDir = path.join(flags.outRoot, 'latest');
  const loadBefore = loadAverage();
  log(`sections: ${flags.sections.join(', ')}${flags.quick ? ' (--quick)' : ''}; ${flags.runs} repeat(s) per figure; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);

  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationS: 0,
    argv: process.argv.slice(2),
    flags: { ...flags, outRoot: path.relative(ROOT, flags.outRoot) || '.' },
    machine: machineInfo(),
    versions: versions(),
    loadAverage: { before: loadBefore, after: loadBefore },
    sectionDurationsS: {},
    errors: {},
  };

  let redis: Awaited<ReturnType<typeof ownRedis>> | undefined;
  const needRedis = flags.sections.some((s) => s !== 'accuracy');
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    log(`${sig}: stopping`);
    void (redis?.handle.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    if (needRedis) {
      redis = await ownRedis();
      log(`own redis-server at ${redis.url}`);
    }
    for (const section of flags.sections) {
      if (interrupted) break;
      const t0 = Date.now();
      log(`== ${section} ==`);
      try {
        if (section === 'baselines') {
          report.baselines = await benchBaselines({
            redisUrl: redis!.url,
            runs: flags.runs,
            jobs: flags.baselineJobs,
            inFlight: flags.connections,
            rowsSingle: flags.rowsSingle,
            rowsBatched: flags.rowsBatched,
            batchSize: 500,
            log,
          });
        } else if (section === 'ingest') {
          report.ingest = await benchIngest({ connections: flags.connections, durationS: flags.durationS, runs: flags.runs, warmupS: flags.warmupS, redisUrl: redis!.url, log });
        } else if (section === 'dispatch') {
          report.dispatch = await benchDispatch({ jobs: flags.jobs, runs: flags.runs, concurrency: 50, redisUrl: redis!.url });
          log(formatBench(report.dispatch));
        } else {
          report.accuracy = await benchAccuracy({
            backlog: flags.backlog,
            repeats: flags.accuracyRepeats,
            budgetS: flags.accuracyBudgetS,
            connections: flags.connections,
            log,
          });
        }
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        report.errors[section] = message;
        log(`${section} FAILED: ${message}`);
      }
      report.sectionDurationsS[section] = (Date.now() - t0) / 1000;
      log(`${section} took ${report.sectionDurationsS[section]!.toFixed(0)} s; load average ${loadAverage()[0].toFixed(2)}`);
    }
  } finally {
    if (redis) {
      await redis.handle.stop();
      fs.rmSync(redis.dir, { recursive: true, force: true });
    }
  }

  report.loadAverage.after = loadAverage();
  report.finishedAt = new Date().toISOString();
  report.durationS = (Date.now() - started) / 1000;

  fs.mkdirSync(outDir, { recursive: true });
  const chart = chartInput(report);
  const svg = renderChartSvg(chart);
  fs.writeFileSync(path.join(outDir, 'chart.svg'), svg);
  if (flags.png) {
    try {
      const png = await renderPng(svg, path.join(outDir, 'chart.png'));
      report.chartPng = png.ok ? 'chart.png' : `not rendered: ${png.reason}`;
    } catch (err) {
      report.chartPng = `not rendered: ${(err as Error).message.split('\n')[0]}`;
    }
  } else report.chartPng = 'not rendered: --no-png';
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'report.md'), renderMarkdown(report));
  log(`report: ${path.relative(ROOT, outDir)}/report.md (${report.durationS.toFixed(0)} s in all; load average ${report.loadAverage.after.map((l) => l.toFixed(2)).join(' ')})`);
  fs.writeFileSync(path.join(outDir, 'log.txt'), `${logLines.join('\n')}\n`);
  fs.rmSync(latestDir, { recursive: true, force: true });
  fs.cpSync(outDir, latestDir, { recursive: true });
  process.stdout.write(`\n${fs.readFileSync(path.join(outDir, 'report.md'), 'utf8').split('\n## Machine')[0]}\n`);
  if (Object.keys(report.errors).length > 0) process.exitCode = 1;
}

export type { AccuracyResult, BaselineResult, DispatchFigures, IngestBenchResult };

main().then(
  // Workers, agents and pools of the benchmarks may keep handles; everything is stopped by now.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
