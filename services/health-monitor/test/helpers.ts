import { Writable } from 'node:stream';
import type Redis from 'ioredis';
import winston from 'winston';
import { loadConfig } from '@twillow/config';
import { availabilityEventSchema, type AvailabilityEvent, type OutcomeEvent, type OutcomeKind } from '@twillow/contracts';
import { createLogger, type Logger } from '@twillow/logger';
import { createRedis, OutcomePublisher, redisKeys, type RedisKeys } from '@twillow/redis';
import { testRedisUrl } from '@twillow/testing';
import type { RunningServer } from '@twillow/http';
import { compose, type HealthMonitorService } from '../src/compose';
import { healthMonitorEnvSchema } from '../src/config';

/** Short windows and cooldowns so the suite stays fast. */
export const TEST_ENV = {
  HEALTH_MONITOR_PORT: '0',
  HEALTH_WINDOW_MS: '2000',
  HEALTH_MIN_SAMPLES: '10',
  HEALTH_FAILURE_THRESHOLD: '0.5',
  HEALTH_COOLDOWN_MS: '300',
  HEALTH_MAX_COOLDOWN_MS: '2000',
  HEALTH_PROBE_COUNT: '3',
  HEALTH_EVAL_INTERVAL_MS: '50',
  HEALTH_STATE_MAX_AGE_MS: '1000',
  HEALTH_LEASE_MS: '600',
  PROVIDER_TIMEOUT_MS: '500',
};

export interface LogLine {
  level: string;
  message: string;
  [k: string]: unknown;
}

export function captureLogger(lines: LogLine[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return createLogger({ service: 'health-monitor', version: 'test', level: 'info', transports: [new winston.transports.Stream({ stream })] });
}

export interface RunningMonitor {
  service: HealthMonitorService;
  server: RunningServer;
  logs: LogLine[];
  close(): Promise<void>;
}

export async function startMonitor(prefix: string, env: Record<string, string> = {}, replicaId?: string): Promise<RunningMonitor> {
  const config = loadConfig(healthMonitorEnvSchema, { ...TEST_ENV, ...env, REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix });
  const logs: LogLine[] = [];
  const service = compose(config, { version: 'test', logger: captureLogger(logs), replicaId, settings: { readBlockMs: 200 } });
  const server = await service.start();
  return { service, server, logs, close: () => service.close() };
}

/** Plays the dispatchers' part: writes outcome events with the production publisher. */
export class Outcomes {
  readonly publisher: OutcomePublisher;
  constructor(
    readonly redis: Redis,
    keys: RedisKeys,
  ) {
    this.publisher = new OutcomePublisher(redis, keys);
  }

  async send(provider: OutcomeEvent['provider'], kind: OutcomeKind, count = 1, latencyMs = 5): Promise<void> {
    for (let i = 0; i < count; i++) await this.publisher.publish({ provider, kind, latency_ms: latencyMs, at: Date.now() });
  }

  /**
   * A probe's answer. The monitor only takes an answer to a send that started after probing began
   * (receipt - latency >= since); an answer published within milliseconds of the transition with a
   * made-up latency would date its send before it, so this one carries latency 0.
   */
  probeAnswer(provider: OutcomeEvent['provider'], kind: OutcomeKind): Promise<void> {
    return this.send(provider, kind, 1, 0);
  }

  /** Steady traffic: one event every `everyMs` with the kind `kind()` returns at that moment. */
  steady(provider: OutcomeEvent['provider'], kind: () => OutcomeKind, everyMs: number): () => void {
    const timer = setInterval(() => void this.send(provider, kind()).catch(() => undefined), everyMs);
    return () => clearInterval(timer);
  }
}

/** Records every event on the availability channel. */
export async function recordEvents(subscriber: Redis, keys: RedisKeys): Promise<AvailabilityEvent[]> {
  const events: AvailabilityEvent[] = [];
  subscriber.on('message', (channel: string, raw: string) => {
    if (channel === keys.availabilityChannel) events.push(availabilityEventSchema.parse(JSON.parse(raw)));
  });
  await subscriber.subscribe(keys.availabilityChannel);
  return events;
}

/** Transitions only: heartbeats re-announce a state with `previous` equal to it. */
export const transitions = (events: AvailabilityEvent[]) => events.filter((e) => e.previous !== e.state.state);

export function testClients(logger: Logger) {
  const url = testRedisUrl();
  const made: Redis[] = [];
  // 'blocking' role: commands queue until connected, so tests need no readiness wait.
  const make = (name: string) => {
    const c = createRedis(url, 'blocking', logger, name);
    made.push(c);
    return c;
  };
  return {
    make,
    closeAll: () => Promise.all(made.map((c) => c.quit().catch(() => c.disconnect()))),
  };
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

export async function storedState(redis: Redis, keys: RedisKeys, provider: string) {
  const raw = await redis.hget(keys.healthState, provider);
  return raw ? (JSON.parse(raw) as AvailabilityEvent['state']) : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { redisKeys };
