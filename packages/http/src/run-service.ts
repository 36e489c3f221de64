import type { Logger } from '@twillow/logger';

/** What an entry point runs: a composed service that starts, stops in order and logs. */
export interface RunnableService {
  readonly logger: Logger;
  start(): Promise<unknown>;
  /** Stops everything it started, in order. Idempotent. */
  stop(): Promise<void>;
}

export interface RunServiceOptions<C> {
  /** The process name that starts each line printed to stderr, e.g. `dispatcher`. */
  name: string;
  /** Parses the environment once. A config error (code CONFIG.INVALID) ends the process with its message. */
  loadConfig(): C;
  /** The composition root. Nothing may run until start(). */
  compose(config: C): RunnableService;
  /** How long a signal's shutdown may take before the process exits anyway, in ms. */
  shutdownTimeoutMs(config: C): number;
  /** The reason printed when start() fails; default: the error's message. */
  describeStartError?(err: unknown, config: C): string;
}

/** A stop after a failed start can wait on clients that never connected; do not hang on it. */
const FAILED_START_EXIT_MS = 2000;

/**
 * The process concerns the long-running services share, so that their main.ts only names the
 * config and the composition root: a bad environment prints `<name>: Invalid configuration: ...`
 * and exits 1; SIGTERM and SIGINT stop the service in order and exit 0 (1 after the shutdown
 * timeout or a failed stop); a failed start prints `<name> could not start: <reason>` and exits 1.
 */
export async function runService<C>(options: RunServiceOptions<C>): Promise<void> {
  const { name } = options;
  let config: C;
  try {
    config = options.loadConfig();
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'CONFIG.INVALID') {
      process.stderr.write(`${name}: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const service = options.compose(config);
  const { logger } = service;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    const timeoutMs = options.shutdownTimeoutMs(config);
    setTimeout(() => {
      logger.error('shutdown timed out; exiting', { timeout_ms: timeoutMs });
      process.exit(1);
    }, timeoutMs).unref();
    service.stop().then(
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
    const reason = options.describeStartError ? options.describeStartError(err, config) : err instanceof Error ? err.message : String(err);
    logger.error(`${name} failed to start`, { error: reason });
    process.stderr.write(`${name} could not start: ${reason}\n`);
    setTimeout(() => process.exit(1), FAILED_START_EXIT_MS).unref();
    await service.stop().catch(() => undefined);
    process.exit(1);
  }
}
