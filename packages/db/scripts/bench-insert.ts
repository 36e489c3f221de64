// Insert throughput of the group-commit writer vs raw better-sqlite3 (medians of 3 runs).
// Run: npm run bench -w @twillow/db   (or: node --conditions=development --require tsx/cjs packages/db/scripts/bench-insert.ts)
import { benchInsert } from '../src/bench-insert';

async function main(): Promise<void> {
  const result = await benchInsert();
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`insert benchmark: ${result.rows} rows, median of ${result.runs} runs, fresh SQLite file per run`);
  for (const v of [result.raw, result.writer, result.writerTurns]) {
    console.log(`  ${v.name.padEnd(50)} ${fmt(v.medianRowsPerSec).padStart(9)} rows/s   (runs: ${v.runsRowsPerSec.map(fmt).join(', ')})`);
  }
  console.log(`  ratio writer / raw: ${(result.ratio * 100).toFixed(1)}%`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
