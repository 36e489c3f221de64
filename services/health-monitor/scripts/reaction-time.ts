/**
 * Measures the health monitor's reaction time: steady outcome traffic to provider1, all successes
 * for one full window, then every outcome a failure; reports the time from the first failure to a
 * HealthStateView seeing `unavailable`. A benchmark script, not a test.
 *
 *   node --conditions=development --require tsx/cjs services/health-monitor/scripts/reaction-time.ts \
 *     [--rate 50] [--runs 3] [--kind server_error] [HEALTH_WINDOW_MS=10000 ...]
 *
 * Extra KEY=VALUE arguments override the monitor's configuration (registry names).
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@twillow/config';
import type { OutcomeKind } from '@twillow/contracts';
import { createLogger } from '@twillow/logger';
import { createRedis, HealthStateView, OutcomePublisher, redisKeys } from '@twillow/redis';
import { compose } from '../src/compose';
import { healthMonitorEnvSchema } from '../src/config';

function parseArgs(argv: string[]) {
  const opts = { rate: 50, runs: 3, kind: 'server_error' as OutcomeKind, env: {} as Record<string, string> };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rate') opts.rate = Number(argv[++i]);
    else if (a === '--runs') opts.runs = Number(argv[++i]);
    else if (a === '--kind') opts.kind = argv[++i] as OutcomeKind;
    else if (a.includes('=')) opts.env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
  }
  return opts;
}

async function once(opts: ReturnType<typeof parseArgs>): Promise<number> {
  const prefix = `bench-hm-${randomBytes(4).toString('hex')}`;
  const env = loadConfig(healthMonitorEnvSchema, { HEALTH_MONITOR_PORT: '0', LOG_LEVEL: 'error', ...opts.env, REDIS_PREFIX: prefix });
  const logger = createLogger({ service: 'bench', version: '0', level: 'error' });
  const service = compose(env, { version: 'bench', logger });
  await service.start();
  const keys = redisKeys(prefix);
  const redis = createRedis(env.REDIS_URL, 'blocking', logger, 'bench');
  const sub = createRedis(env.REDIS_URL, 'blocking', logger, 'bench-sub');
  const view = new HealthStateView(redis, keys, env.HEALTH_STATE_MAX_AGE_MS, logger);
  await view.start(sub);
  const publisher = new OutcomePublisher(redis, keys);
  // A failing send answers after its latency: a timeout only reports PROVIDER_TIMEOUT_MS after the send.
  const failLatency = opts.kind === 'timeout' ? env.PROVIDER_TIMEOUT_MS : 5;
  let failingSince = Number.POSITIVE_INFINITY;
  const every = 1000 / opts.rate;
  const timer = setInterval(() => {
    const sentAt = Date.now();
    const failing = sentAt >= failingSince;
    const delay = failing ? failLatency : 5;
    setTimeout(() => {
      void publisher.publish({ provider: 'provider1', kind: failing ? opts.kind : 'success', latency_ms: delay, at: Date.now() });
    }, delay);
  }, every);
  await new Promise((r) => setTimeout(r, env.HEALTH_WINDOW_MS + 500));
  failingSince = Date.now();
  while (view.effectiveState('provider1') !== 'unavailable') await new Promise((r) => setTimeout(r, 5));
  const reaction = Date.now() - failingSince;
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, failLatency + 200)); // let in-flight publishes land
  await view.stop();
  await service.close();
  const del = await redis.keys(`*${prefix}*`);
  if (del.length) await redis.del(...del);
  await Promise.all([redis.quit(), sub.quit()]);
  return reaction;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const results: number[] = [];
  for (let i = 0; i < opts.runs; i++) results.push(await once(opts));
  const sorted = [...results].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({ rate_per_s: opts.rate, kind: opts.kind, env: opts.env, reaction_ms: results, median_ms: sorted[Math.floor(sorted.length / 2)] })}\n`,
  );
}

void main();
