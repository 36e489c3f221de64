import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, logLevel, pickEnv } from '@twillow/config';
import { describeListenError } from '@twillow/http';
import { createLogger } from '@twillow/logger';
import { startProviderMock } from './start-provider-mock';

const configSchema = pickEnv(
  'MOCK_PROVIDER_ID',
  'MOCK_PORT',
  'MOCK_RATE_LIMIT',
  'MOCK_LATENCY_MS',
  'MOCK_JITTER_MS',
  'MOCK_FAILURE_RATE',
  'MOCK_MODE',
  'MOCK_SLOW_MS',
  'MOCK_DEDUPE',
  'HOST',
  'DEBUG',
  'LOG_LEVEL',
  'SHUTDOWN_TIMEOUT_MS',
);

/** package.json sits one level above both src/ (tsx) and dist/ (containers). */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown'; // the version only labels log lines; a missing file must not stop the mock
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(configSchema, process.env);
  } catch (err) {
    console.error(`provider-mock: ${(err as Error).message}`);
    process.exit(1);
  }
  const logger = createLogger({ service: `provider-mock-${config.MOCK_PROVIDER_ID}`, version: packageVersion(), level: logLevel(config) });

  let mock;
  try {
    mock = await startProviderMock({
      providerId: config.MOCK_PROVIDER_ID,
      port: config.MOCK_PORT,
      host: config.HOST,
      rateLimit: config.MOCK_RATE_LIMIT,
      latencyMs: config.MOCK_LATENCY_MS,
      jitterMs: config.MOCK_JITTER_MS,
      failureRate: config.MOCK_FAILURE_RATE,
      slowMs: config.MOCK_SLOW_MS,
      dedupe: config.MOCK_DEDUPE,
      mode: config.MOCK_MODE,
      logger,
    });
  } catch (err) {
    console.error(describeListenError(err, `provider mock ${config.MOCK_PROVIDER_ID}`, config.MOCK_PORT, 'MOCK_PORT'));
    process.exit(1);
  }
  const running = mock;
  logger.info('provider mock listening', {
    provider: config.MOCK_PROVIDER_ID,
    url: running.sendUrl,
    mode: config.MOCK_MODE,
    rate_limit: config.MOCK_RATE_LIMIT,
  });

  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    const hardStop = setTimeout(() => {
      logger.error('shutdown timed out', { timeout_ms: config.SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    hardStop.unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
