import { ConfigError, loadConfig } from '@twillow/config';
import { describeListenError, listen } from '@twillow/http';
import { composeGateway, SERVICE_NAME } from './compose';
import { gatewayConfig, gatewayEnvSchema } from './config';

/** Process concerns only: config, compose, listen, signals. */
async function main(): Promise<void> {
  // Registered first, so a signal during start-up also ends the process in order (nothing is
  // accepted yet, so there is nothing to drain).
  let onSignal: (signal: string) => void = (signal) => {
    console.error(`${SERVICE_NAME}: ${signal} during start-up; exiting`);
    process.exit(0);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  let config;
  try {
    config = gatewayConfig(loadConfig(gatewayEnvSchema, process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${SERVICE_NAME}: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const { env } = config;
  const gateway = await composeGateway(config);
  const { logger } = gateway;

  let server;
  try {
    server = await listen(gateway.app, env.GATEWAY_PORT, env.HOST);
  } catch (err) {
    console.error(describeListenError(err, 'the ingest gateway', env.GATEWAY_PORT, 'GATEWAY_PORT'));
    await gateway.close();
    process.exit(1);
  }
  gateway.start();
  logger.info(`${SERVICE_NAME} listening on ${server.url} (docs at ${server.url}/docs)`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received; shutting down`);
    gateway.beginShutdown();
    const hardStop = setTimeout(() => {
      logger.error(`shutdown took longer than SHUTDOWN_TIMEOUT_MS (${env.SHUTDOWN_TIMEOUT_MS} ms); exiting`);
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    hardStop.unref();
    // Stop accepting and answer in-flight requests first, then flush the writer and close the rest.
    server
      .close()
      .then(() => gateway.close())
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error('shutdown failed', { error: (err as Error)?.stack ?? String(err) });
        process.exit(1);
      });
  };
  onSignal = shutdown;
}

main().catch((err: unknown) => {
  console.error(`${SERVICE_NAME} failed to start: ${(err as Error)?.message ?? String(err)}`);
  process.exit(1);
});
