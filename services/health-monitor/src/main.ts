import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '@twillow/config';
import { compose } from './compose';
import { healthMonitorEnvSchema } from './config';

/** Process concerns only: config, compose, start, signals. */
async function main(): Promise<void> {
  let env;
  try {
    env = loadConfig(healthMonitorEnvSchema, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`health-monitor: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const service = compose(env, { version: readVersion() });
  const { logger } = service;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    const hard = setTimeout(() => {
      logger.error('shutdown timed out; exiting', { timeout_ms: env.SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    hard.unref();
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await service.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error('health monitor failed to start', { error: message });
    process.stderr.write(`health-monitor could not start: ${message}\n`);
    // Closing clients that never connected can wait on their reconnect loop; do not hang on it.
    setTimeout(() => process.exit(1), 2000).unref();
    await service.close().catch(() => undefined);
    process.exit(1);
  }
}

function readVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

void main();
