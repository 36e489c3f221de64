import { ConfigError, loadConfig } from '@twillow/config';
import { describeListenError } from '@twillow/http';
import { composeDispatcher } from './compose';
import { dispatcherConfig, dispatcherEnvSchema } from './config';

/** Process concerns only: config, compose, start, signals, hard shutdown timeout. */
async function main(): Promise<void> {
  let config;
  try {
    config = dispatcherConfig(loadConfig(dispatcherEnvSchema, process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dispatcher: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const dispatcher = composeDispatcher(config);
  const { logger } = dispatcher;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    const hard = setTimeout(() => {
      logger.error('shutdown timed out; exiting', { timeout_ms: config.shutdownTimeoutMs });
      process.exit(1);
    }, config.shutdownTimeoutMs);
    hard.unref();
    dispatcher.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await dispatcher.start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'EADDRINUSE' || code === 'EACCES' ? describeListenError(err, 'the dispatcher', config.port, 'DISPATCHER_PORT') : (err as Error).message;
    logger.error(`dispatcher could not start: ${message}`);
    await dispatcher.stop();
    process.exit(1);
  }
}

void main();
