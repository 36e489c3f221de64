/** report.json's shape, report.md, and the chart's bars. */
import type { BenchFigures as DispatchFigures } from '../../services/dispatcher/scripts/bench-dispatch';
import type { IngestBenchResult } from '../../services/ingest-gateway/scripts/bench-ingest';
import { PROVIDERS } from '../../e2e/src/stack.fixture';
import type { AccuracyResult } from './accuracy';
import type { BaselineResult } from './baselines';
import type { ChartBar, ChartInput } from './chart';
import type { MachineInfo, Versions } from './machine';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationS: number;
  /** Arguments after `npm run bench --`. */
  argv: string[];
  flags: Record<string, unknown>;
  machine: MachineInfo;
  versions: Versions;
  /** 1, 5 and 15-minute load averages before the first and after the last section. */
  loadAverage: { before: number[]; after: number[] };
  sectionDurationsS: Partial<Record<string, number>>;
  /** Section -> error (stack) of a section that failed; the others still ran. */
  errors: Record<string, string>;
  baselines?: BaselineResult;
  ingest?: IngestBenchResult;
  dispatch?: DispatchFigures;
  accuracy?: AccuracyResult;
  chartPng?: string;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(1)}%` : 'n/a');
const list = (xs: number[], f: (n: number) => string = int) => xs.map(f).join(' / ');
const yes = (met: boolean) => (met ? '**met**' : '**NOT met**');
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');

/**
 * Every 2xx answer has its row and its job. Rows and jobs may exceed the 2xx count: autocannon stops
 * with up to `connections` requests in flight per run, which the gateway still stores and queues.
 */
export function durable(i: IngestBenchResult): boolean {
  return i.durability.rows === i.durability.jobs && i.durability.rows >= i.durability.accepted;
}

/** One bar per DESIGN.md target measured in this run. */
export function chartInput(r: BenchReport): ChartInput {
  const bars: ChartBar[] = [];
  if (r.ingest) {
    const i = r.ingest;
    bars.push({
      label: 'Ingest / bare Express',
      detail: `${int(i.ingest.rps)} accepted/s vs ${int(i.bare.rps)} req/s`,
      value: i.ratio,
      target: i.targets.ratioAtLeast,
      kind: 'min',
      met: i.ratio >= i.targets.ratioAtLeast,
    });
    bars.push({
      label: 'Ingest p99 / 50 ms',
      detail: `p99 ${i.ingest.p99Ms} ms at ${i.connections} connections`,
      value: i.ingest.p99Ms / i.targets.p99AtMostMs,
      target: 1,
      kind: 'max',
      met: i.ingest.p99Ms <= i.targets.p99AtMostMs,
    });
  }
  if (r.dispatch) {
    const d = r.dispatch;
    bars.push({
      label: 'Dispatch / raw BullMQ + POST',
      detail: `${int(d.dispatcher.median)} vs ${int(d.rawHttp.median)} jobs/s`,
      value: d.ratioToRawHttp,
      target: 0.7,
      kind: 'min',
      met: d.ratioToRawHttp >= 0.7,
    });
  }
  if (r.accuracy) {
    const a = r.accuracy;
    bars.push({
      label: 'Backlog drain / binding limit',
      detail: `${a.drainRateSustained.median.toFixed(1)}/s (5-95% of sends) vs ${a.limits.binding}/s`,
      value: a.ratioSustained,
      target: a.targets.drainRatioAtLeast,
      kind: 'min',
      met: a.targets.drainMet,
    });
    bars.push({
      label: 'Worst provider 1 s peak / limit',
      detail: `${a.worstProviderPeak1s} vs ${a.limits.provider} in any 1 s window`,
      value: a.worstProviderPeak1s / a.limits.provider,
      target: 1,
      kind: 'max',
      met: a.worstProviderPeak1s <= a.limits.provider,
    });
  }
  const quick = r.flags.quick ? ', --quick (1 repeat, short runs)' : '';
  return {
    title: 'Twillow benchmarks: ratios vs DESIGN.md targets',
    subtitle: `${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.machine.cores} cores, load ${r.loadAverage.before[0].toFixed(1)} → ${r.loadAverage.after[0].toFixed(1)}${quick}`,
    bars,
  };
}

export function renderMarkdown(r: BenchReport): string {
  const md: string[] = [];
  const runs = Number(r.flags.runs);
  md.push(`# Twillow benchmark report — ${r.startedAt}`);
  md.push('');
  md.push(
    `Command: \`npm run bench${r.argv.length ? ` -- ${r.argv.join(' ')}` : ''}\`; sections: ${(r.flags.sections as string[]).join(', ')}; ` +
      `${runs} repeat(s) per figure (median reported${runs === 1 ? ' — a single run, not a median' : ''}); total ${r.durationS < 120 ? `${r.durationS.toFixed(0)} s` : `${(r.durationS / 60).toFixed(1)} min`}.`,
  );
  md.push(
    `Load average (1/5/15 min) **before ${load(r.loadAverage.before)}**, **after ${load(r.loadAverage.after)}** on ${r.machine.cores} cores` +
      (r.loadAverage.before[0] > r.machine.cores * 0.5 || r.loadAverage.after[0] > r.machine.cores * 0.5
        ? ' — the machine was busy with other work, so these figures are not representative.'
        : '.'),
  );
  md.push('');

  // Summary.
  md.push('## Targets (DESIGN.md "Performance targets")');
  md.push('');
  md.push('| target | measured | required | result |');
  md.push('|---|---|---|---|');
  if (r.ingest) {
    const i = r.ingest;
    md.push(`| ingest accepted/s vs bare Express hello-world | ${pct(i.ratio)} (${int(i.ingest.rps)} vs ${int(i.bare.rps)}) | >= 50% | ${yes(i.ratio >= 0.5)} |`);
    md.push(`| ingest p99 at ${i.connections} connections | ${i.ingest.p99Ms} ms | <= 50 ms | ${yes(i.ingest.p99Ms <= 50)} |`);
    md.push(`| every accepted message stored and queued | ${int(i.durability.accepted)} accepted, ${int(i.durability.rows)} rows, ${int(i.durability.jobs)} jobs | rows = jobs >= accepted | ${yes(durable(i))} |`);
  }
  if (r.dispatch) {
    const d = r.dispatch;
    md.push(`| dispatch vs raw BullMQ HTTP-POST processing | ${pct(d.ratioToRawHttp)} (${int(d.dispatcher.median)} vs ${int(d.rawHttp.median)} jobs/s) | >= 70% | ${yes(d.ratioToRawHttp >= 0.7)} |`);
  }
  if (r.accuracy) {
    const a = r.accuracy;
    md.push(
      `| backlog drain vs binding limit ${a.limits.binding}/s | ${pct(a.ratioSustained)} sustained (${a.drainRateSustained.median.toFixed(1)}/s, 5-95% of sends); ${pct(a.ratioFirstToLast)} first-to-last; ${pct(a.ratioWindowed)} windowed | >= 95% (aim 99%) | ${yes(a.targets.drainMet)} |`,
    );
    md.push(`| most requests at one provider in any 1 s window | ${a.worstProviderPeak1s} (worst of ${a.repeats.length} repeat(s) x 3 providers) | <= ${a.limits.provider} | ${yes(a.worstProviderPeak1s <= a.limits.provider)} |`);
    md.push(`| most sends over all providers in any 1 s window | ${a.worstGlobalPeak1s} | <= ${a.limits.total} | ${yes(a.worstGlobalPeak1s <= a.limits.total)} |`);
  }
  for (const [section, err] of Object.entries(r.errors)) md.push(`| ${section} | FAILED: ${err.split('\n')[0].replace(/\|/g, '\\|')} | | **NOT met** |`);
  md.push('');
  md.push(r.chartPng === 'chart.png' ? '![ratios vs targets](chart.png)' : `![ratios vs targets](chart.svg) (PNG ${r.chartPng ?? 'not rendered'})`);
  md.push('');

  // Machine.
  md.push('## Machine');
  md.push('');
  md.push(`- CPU: ${r.machine.cpuModel}, ${r.machine.cores} cores; memory ${r.machine.memoryGiB} GiB`);
  md.push(`- OS: ${r.machine.os} (${r.machine.kernel})`);
  md.push(`- Load average (1/5/15 min): before ${load(r.loadAverage.before)}; after ${load(r.loadAverage.after)}`);
  md.push(
    `- Versions: node ${r.versions.node}, npm ${r.versions.npm}, redis-server ${r.versions.redisServer}; ` +
      Object.entries(r.versions.packages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  );
  md.push(`- Commit: ${r.versions.git ? `${r.versions.git.commit}${r.versions.git.dirty ? ' (with uncommitted changes)' : ''}` : 'unknown'}`);
  md.push(`- Section durations: ${Object.entries(r.sectionDurationsS).map(([k, v]) => `${k} ${Math.round(v ?? 0)} s`).join(', ')}`);
  md.push('');

  // Baselines.
  md.push('## Baselines');
  md.push('');
  md.push('Measured in this run on this machine. DESIGN.md reference figures are from the 2-core machines the targets were set on.');
  md.push('');
  md.push('| baseline | median | all repeats | unit | measured in | DESIGN.md reference |');
  md.push('|---|---:|---|---|---|---:|');
  if (r.ingest) md.push(`| bare Express 5 hello-world (GET, ${r.ingest.connections} connections) | ${int(r.ingest.bare.rps)} | ${list(r.ingest.runs.map((x) => x.bare.rps))} | req/s | ingest (interleaved) | ~9,300 |`);
  if (r.dispatch) {
    md.push(`| raw BullMQ worker, no-op processor (concurrency ${r.dispatch.concurrency}) | ${int(r.dispatch.noop.median)} | ${list(r.dispatch.noop.all)} | jobs/s | dispatch (interleaved) | |`);
    md.push(`| raw BullMQ worker, one HTTP POST per job to an instant mock | ${int(r.dispatch.rawHttp.median)} | ${list(r.dispatch.rawHttp.all)} | jobs/s | dispatch (interleaved) | ~9,100 |`);
  }
  if (r.baselines) {
    const b = r.baselines;
    md.push(`| raw BullMQ \`add\`, ${b.bullmqAdd.inFlight} in flight (${int(b.bullmqAdd.jobs)} jobs) | ${int(b.bullmqAdd.median)} | ${list(b.bullmqAdd.all)} | jobs/s | baselines | |`);
    md.push(`| raw BullMQ \`addBulk\`, ${b.bullmqAddBulk.perCall} per call (${int(b.bullmqAddBulk.jobs)} jobs) | ${int(b.bullmqAddBulk.median)} | ${list(b.bullmqAddBulk.all)} | jobs/s | baselines | |`);
    md.push(`| raw better-sqlite3 insert, 1 row per transaction (${int(b.sqliteSingle.rows)} rows) | ${int(b.sqliteSingle.median)} | ${list(b.sqliteSingle.all)} | rows/s | baselines | |`);
    md.push(`| raw better-sqlite3 insert, ${b.sqliteBatched.batchSize} rows per transaction (${int(b.sqliteBatched.rows)} rows) | ${int(b.sqliteBatched.median)} | ${list(b.sqliteBatched.all)} | rows/s | baselines | |`);
    md.push('');
    md.push(`SQLite: real schema (migrated), journal ${b.sqlite.journalMode}, synchronous ${b.sqlite.synchronous} (as the gateway), file in ${b.sqlite.dir}.`);
  }
  if (!r.ingest && !r.dispatch && !r.baselines) md.push('| (no baseline measured in this run) | | | | | |');
  md.push('');

  if (r.ingest) {
    const i = r.ingest;
    md.push('## Ingest');
    md.push('');
    md.push(
      `autocannon, ${i.connections} connections, ${i.durationS} s per run after a warm-up, median of ${i.runs.length}; the gateway runs from source (main.ts) with the ingest limit lifted, ` +
        'a fresh migrated SQLite file and its own Redis prefix, so every accepted request is a stored row plus a BullMQ job. Bare Express and the gateway alternate run by run.',
    );
    md.push('');
    md.push('| server | rate (median) | all repeats | p50 ms | p99 ms | failures | p99 all repeats |');
    md.push('|---|---:|---|---:|---:|---:|---|');
    md.push(`| bare Express 5 hello-world (GET /) | ${int(i.bare.rps)} req/s | ${list(i.runs.map((x) => x.bare.rps))} | ${i.bare.p50Ms} | ${i.bare.p99Ms} | ${i.bare.failures} | ${list(i.runs.map((x) => x.bare.p99Ms), String)} |`);
    md.push(`| gateway POST /api/sms/send | ${int(i.ingest.rps)} accepted/s | ${list(i.runs.map((x) => x.ingest.rps))} | ${i.ingest.p50Ms} | ${i.ingest.p99Ms} | ${i.ingest.failures} | ${list(i.runs.map((x) => x.ingest.p99Ms), String)} |`);
    md.push('');
    md.push(`- Ratio ingest / bare Express: **${pct(i.ratio)}** (target >= 50%; per repeat ${list(i.runs.map((x) => x.ingest.rps / x.bare.rps), pct)}); p99 **${i.ingest.p99Ms} ms** (target <= 50 ms): ${yes(i.targets.met)}`);
    md.push(
      `- Durability: ${int(i.durability.accepted)} answered 2xx (warm-up included) -> ${int(i.durability.rows)} rows stored, ${int(i.durability.jobs)} jobs queued: ${yes(durable(i))} ` +
        `(rows = jobs >= 2xx answers; the surplus, at most ${i.connections} per autocannon run, is requests still in flight when autocannon stopped)`,
    );
    md.push('');
  }

  if (r.dispatch) {
    const d = r.dispatch;
    md.push('## Dispatch');
    md.push('');
    md.push(
      `${int(d.jobs)} jobs per run, concurrency ${d.concurrency}, median of ${d.runs}; limits lifted, one instant provider mock (own process) behind all three providers; ` +
        'jobs/s from the first to the last completed job; the three variants alternate run by run.',
    );
    md.push('');
    md.push('| variant | jobs/s (median) | all repeats | dispatcher / variant |');
    md.push('|---|---:|---|---:|');
    md.push(`| dispatcher (lease, state check, limiter, got send, SQLite record, outcome event) | ${int(d.dispatcher.median)} | ${list(d.dispatcher.all)} | |`);
    md.push(`| raw BullMQ + one HTTP POST per job (node:http keep-alive) | ${int(d.rawHttp.median)} | ${list(d.rawHttp.all)} | ${pct(d.ratioToRawHttp)} |`);
    md.push(`| raw BullMQ no-op | ${int(d.noop.median)} | ${list(d.noop.all)} | ${pct(d.ratioToNoop)} |`);
    md.push('');
    md.push(`- Dispatch / raw HTTP-POST processing: **${pct(d.ratioToRawHttp)}** (target >= 70%): ${yes(d.ratioToRawHttp >= 0.7)}`);
    md.push('');
  }

  if (r.accuracy) {
    const a = r.accuracy;
    md.push('## End-to-end rate-limit accuracy (default limits)');
    md.push('');
    md.push(
      `Full stack (scripts/launcher.js through the e2e fixture): own redis-server on a free port, ${a.dispatchers} dispatchers, gateway, health monitor, three mocks; ` +
        `PROVIDER_RATE_LIMIT=${a.limits.provider}, TOTAL_RATE_LIMIT=${a.limits.total}, MOCK_RATE_LIMIT=${a.limits.mock}; binding limit min(${a.limits.total}, 3 x ${a.limits.provider}) = ${a.limits.binding}/s. ` +
        `Per repeat: mocks reset, the queue paused, a backlog of ${int(a.backlog)} messages enqueued through POST /api/sms/send (ingest limit lifted, ${r.flags.connections} in flight), the queue resumed and drained to the end. ` +
        `**${a.repeats.length} repeat(s)** on one stack (most ${String(r.flags.accuracyRepeats)}, budget ${String(r.flags.accuracyBudgetS)} s); stack start-up ${a.stackStartS.toFixed(0)} s.`,
    );
    md.push('');
    md.push(
      'Send times are the stored answer times minus their latency (every attempt that reached a provider). First-to-last = (delivered - 1) / span; ' +
        'sustained = sends between the 5% and the 95% send / their span (the steady rate, as the tests measure it; the target is judged on it); ' +
        'windowed = delivered / (span + 1 s), which a limiter sending each window\'s budget at once brings to 100% of the limit, but a paced one ' +
        `(ours: sends W/limit apart) to at most ${pct(a.backlog / (a.backlog / a.limits.binding + 1) / a.limits.binding)} for ${int(a.backlog)} messages. ` +
        'The judged peaks are the mocks\' own counts on arrival (max_in_any_1s_window, throttled arrivals included); the send-start peaks, from the dispatchers\' side, ' +
        'tell a limiter that admitted too many apart from requests admitted in time but bunched up on the way (a loaded machine delays sends by up to hundreds of ms).',
    );
    md.push('');
    md.push('| repeat | enqueued | enqueue s (rate/s) | delivered | attempts | drain span s | first-to-last /s | windowed /s | sustained /s | peak p1 / p2 / p3 (at mock) | peak p1 / p2 / p3 (at send start) | global peak (send start) | throttled p1 / p2 / p3 | failed | not final |');
    md.push('|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|');
    a.repeats.forEach((x, k) => {
      md.push(
        `| ${k + 1} | ${int(x.enqueued)} | ${x.enqueueS.toFixed(1)} (${int(x.enqueueRate)}) | ${int(x.delivered)} | ${int(x.attempts)} | ${x.drainSpanS.toFixed(2)} | ${x.drainRateFirstToLast.toFixed(1)} | ${x.drainRateWindowed.toFixed(1)} | ${x.drainRateSustained.toFixed(1)} | ` +
          `${PROVIDERS.map((p) => x.providers[p].peak1s).join(' / ')} | ${PROVIDERS.map((p) => x.providers[p].sendSidePeak1s).join(' / ')} | ${x.globalPeak1s} | ${PROVIDERS.map((p) => x.providers[p].throttled).join(' / ')} | ` +
          `${PROVIDERS.reduce((n, p) => n + x.providers[p].failed, 0)} | ${x.notFinal} |`,
      );
    });
    md.push('');
    md.push(
      `- Drain rate (median of ${a.repeats.length}): **${a.drainRateSustained.median.toFixed(1)}/s sustained = ${pct(a.ratioSustained)}** of ${a.limits.binding}/s ` +
        `(target >= 95%, aim 99%): ${yes(a.targets.drainMet)}; first-to-last ${a.drainRateFirstToLast.median.toFixed(1)}/s = ${pct(a.ratioFirstToLast)}; ` +
        `windowed ${a.drainRateWindowed.median.toFixed(1)}/s = ${pct(a.ratioWindowed)}`,
    );
    md.push(`- Most requests any provider saw in any 1 s window: **${a.worstProviderPeak1s}** (limit ${a.limits.provider}): ${yes(a.worstProviderPeak1s <= a.limits.provider)}; over all providers: ${a.worstGlobalPeak1s} (limit ${a.limits.total})`);
    md.push(`- Throttled (429 from a mock): ${a.throttledTotal}; failed (5xx): ${a.failedTotal}`);
    const answers: Record<string, number> = {};
    for (const x of a.repeats) for (const [k, v] of Object.entries(x.enqueueAnswers)) answers[k] = (answers[k] ?? 0) + v;
    md.push(`- Enqueue answers: ${JSON.stringify(answers)}`);
    md.push('');
  }

  if (Object.keys(r.errors).length > 0) {
    md.push('## Errors');
    md.push('');
    for (const [section, err] of Object.entries(r.errors)) md.push(`### ${section}\n\n\`\`\`\n${err}\n\`\`\`\n`);
  }
  md.push('## Flags');
  md.push('');
  md.push('```json');
  md.push(JSON.stringify(r.flags, null, 2));
  md.push('```');
  md.push('');
  return md.join('\n');
}
