import { z } from 'zod';

/**
 * Every environment variable any Twillow process accepts, in one registry.
 * Service schemas pick from here, so the docs test can check that docs/configuration.md
 * lists exactly these names. Each entry carries its default and a one-line meaning.
 */

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'expected a number' })
    .int({ error: 'expected a whole number' })
    .min(min, { error: `expected a whole number >= ${min}` })
    .max(max, { error: `expected a whole number <= ${max}` });

const ratio = () =>
  z.coerce.number({ error: 'expected a number' }).min(0, { error: 'expected a number between 0 and 1' }).max(1, {
    error: 'expected a number between 0 and 1',
  });

const bool = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const httpUrl = () =>
  z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

const redisUrl = () => z.url({ protocol: /^rediss?$/, error: 'expected a redis:// URL' });

const list = () =>
  z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

export const envVars = {
  // --- shared ---
  DEBUG: bool().default(false).describe('Log at debug level and include more detail in logs.'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'debug']).optional().describe('Log level; overrides DEBUG. Default info.'),
  HOST: z.string().min(1).default('127.0.0.1').describe('Address the HTTP servers bind to (0.0.0.0 in containers).'),
  REDIS_URL: redisUrl().default('redis://127.0.0.1:6379').describe('Redis for the queue, rate limits, health state and pub/sub.'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, { error: 'expected letters, digits, _ or -' })
    .default('twillow')
    .describe('Prefix of every Redis key and channel; BullMQ keys use it as a {hash tag}.'),
  DATABASE_URL: z
    .string()
    .min(1)
    .default('file:./data/twillow.db')
    .describe('SQLite database: file:<path> (sqlite:///<path> from the original is accepted too).'),
  SHUTDOWN_TIMEOUT_MS: int(100).default(10000).describe('Hard limit on graceful shutdown, in ms.'),

  // --- providers ---
  PROVIDER1_URL: httpUrl().default('http://127.0.0.1:8071/api/sms/provider1').describe('Endpoint of provider1.'),
  PROVIDER2_URL: httpUrl().default('http://127.0.0.1:8072/api/sms/provider2').describe('Endpoint of provider2.'),
  PROVIDER3_URL: httpUrl().default('http://127.0.0.1:8073/api/sms/provider3').describe('Endpoint of provider3.'),
  PROVIDER_RATE_LIMIT: int(1).default(50).describe('Most requests per provider in any 1-second interval.'),
  PROVIDER1_RATE_LIMIT: int(1).optional().describe('Limit for provider1 alone; defaults to PROVIDER_RATE_LIMIT.'),
  PROVIDER2_RATE_LIMIT: int(1).optional().describe('Limit for provider2 alone; defaults to PROVIDER_RATE_LIMIT.'),
  PROVIDER3_RATE_LIMIT: int(1).optional().describe('Limit for provider3 alone; defaults to PROVIDER_RATE_LIMIT.'),
  TOTAL_RATE_LIMIT: int(1).default(200).describe('Most sends across all providers in any 1-second interval.'),
  PROVIDER_WEIGHTS: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+){2}\s*$/, { error: 'expected three whole numbers, e.g. 2,1,1' })
    .default('1,1,1')
    .describe('Weights of provider1..3 for the smooth weighted round-robin.'),
  PROVIDER_TIMEOUT_MS: int(1).default(5000).describe('Timeout of one provider request, in ms.'),
  RATE_LIMIT_MARGIN_MS: int(0, 500)
    .default(5)
    .describe(
      "Added to the 1-second window, in ms. A send holds its place in the provider's window from its grant until one window after its answer (the provider counted it before answering), so network and host delays need no margin; this only covers the provider's clock resolution. Costs 1 - 1000/(1000 + margin + answer latency) of throughput.",
    ),

  // --- ingest gateway ---
  GATEWAY_PORT: int(0, 65535).default(8000).describe('Port of the ingest gateway.'),
  DEFAULT_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, { error: 'expected a two-letter region code such as BD' })
    .default('BD')
    .describe('Region used to read phone numbers written without a country code.'),
  MAX_SEGMENTS: int(1, 255).default(10).describe('Most SMS segments one message may take.'),
  BODY_LIMIT_BYTES: int(256).default(65536).describe('Largest accepted request body, in bytes.'),
  INGEST_RATE_LIMIT: int(1).optional().describe('Accepted sends per INGEST_RATE_WINDOW_MS, shared by all gateways; defaults to TOTAL_RATE_LIMIT.'),
  INGEST_RATE_WINDOW_MS: int(100).default(1000).describe('Window of the ingest rate limit, in ms.'),
  API_KEYS: list().default([]).describe('Comma-separated API keys for /api/sms/*; empty runs open (local use only).'),
  ADMIN_API_KEY: z.string().optional().describe('Key for admin endpoints: resets, direct sends, /metrics, Bull Board (/admin/queues) and the dashboard.'),
  API_KEY_RATE_LIMIT: int(1).optional().describe('Accepted sends per key per INGEST_RATE_WINDOW_MS; unset means only the shared limit.'),
  CORS_ORIGINS: list().default([]).describe('Comma-separated origins allowed by CORS; empty allows none.'),
  SWEEP_INTERVAL_MS: int(100).default(5000).describe('How often the gateway re-enqueues pending requests that have no job, in ms.'),
  SWEEP_AFTER_MS: int(100).default(10000).describe('Age after which a pending request without a job is re-enqueued, in ms.'),
  DIRECT_SEND_MAX_WAIT_MS: int(0, 60000)
    .default(2000)
    .describe('How long a direct send (POST /api/sms/providerN) waits for rate-limit room before answering 429, in ms.'),

  // --- dispatcher ---
  DISPATCHER_PORT: int(0, 65535).default(8090).describe('Port of the dispatcher health and metrics server (0 picks a free one).'),
  DISPATCHER_CONCURRENCY: int(1, 1000).default(50).describe('Jobs one dispatcher processes at once.'),
  MAX_ATTEMPTS: int(1, 50).default(5).describe('Send attempts per message before it is failed.'),
  RETRY_BASE_DELAY_MS: int(1).default(200).describe('Base of the exponential retry backoff, in ms (jitter added).'),
  NO_PROVIDER_DELAY_MS: int(10).default(1000).describe('How long a job waits when no provider is available, in ms.'),
  DISPATCHER_LOCK_MS: int(1000, 600000)
    .default(5000)
    .describe('BullMQ job lock of a dispatcher, in ms; jobs of a killed replica are taken over after about 1.5x this.'),

  // --- health monitor ---
  HEALTH_MONITOR_PORT: int(0, 65535).default(8080).describe('Port of the health monitor status page, API and dashboard.'),
  HEALTH_WINDOW_MS: int(1000).default(10000).describe('Length of the sliding outcome window per provider, in ms.'),
  HEALTH_MIN_SAMPLES: int(1).default(10).describe('Outcomes needed in the window before a provider can be marked unavailable.'),
  HEALTH_FAILURE_THRESHOLD: ratio().default(0.5).describe('Failure ratio (0..1) at which a provider becomes unavailable.'),
  HEALTH_COOLDOWN_MS: int(100).default(5000).describe('Time an unavailable provider rests before probing, in ms.'),
  HEALTH_MAX_COOLDOWN_MS: int(100).default(60000).describe('Cap of the cooldown, which doubles after each failed probe, in ms.'),
  HEALTH_PROBE_COUNT: int(1).default(3).describe('Trial sends let through while probing.'),
  HEALTH_EVAL_INTERVAL_MS: int(50).default(500).describe('How often the monitor evaluates the windows, in ms.'),
  HEALTH_STATE_MAX_AGE_MS: int(1000).default(30000).describe('A stored state older than this is treated as available, in ms.'),
  HEALTH_LEASE_MS: int(500).default(5000).describe('Leader lease of the health monitor, in ms.'),

  // --- provider mock ---
  MOCK_PROVIDER_ID: z.string().regex(/^[a-z0-9-]+$/).default('provider1').describe('Mock: provider id, also its path /api/sms/<id>.'),
  MOCK_PORT: int(0, 65535).default(8071).describe('Mock: port.'),
  MOCK_RATE_LIMIT: int(1).default(50).describe('Mock: requests accepted in any 1-second window before 429.'),
  MOCK_LATENCY_MS: int(0).default(0).describe('Mock: fixed latency, in ms.'),
  MOCK_JITTER_MS: int(0).default(0).describe('Mock: random extra latency up to this, in ms.'),
  MOCK_FAILURE_RATE: ratio().default(0).describe('Mock: probability (0..1) of a random 500 in up and flaky modes.'),
  MOCK_MODE: z.enum(['up', 'down', 'flaky', 'slow', 'timeout', 'reject']).default('up').describe('Mock: starting mode.'),
  MOCK_SLOW_MS: int(0).default(3000).describe('Mock: how long the slow mode waits before answering, in ms (meant to outlast the client timeout).'),
  MOCK_DEDUPE: bool()
    .default(true)
    .describe(
      'Mock: answer a message_id it already accepted with the original reference instead of delivering it again, as the provider contract asks (false: behave like a naive provider that delivers every repeat).',
    ),
} as const;

export type EnvVarName = keyof typeof envVars;
