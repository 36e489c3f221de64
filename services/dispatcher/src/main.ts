import { loadConfig } from '@twillow/config';
import { describeListenError, runService } from '@twillow/http';
import { composeDispatcher } from './compose';
import { dispatcherConfig, dispatcherEnvSchema } from './config';

/** Process concerns only (runService): config, compose, start, signals, hard shutdown timeout. */
void runService({
  name: 'dispatcher',
  loadConfig: () => dispatcherConfig(loadConfig(dispatcherEnvSchema, process.env)),
  compose: composeDispatcher,
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
  describeStartError: (err, config) => {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EADDRINUSE' || code === 'EACCES' ? describeListenError(err, 'the dispatcher', config.port, 'DISPATCHER_PORT') : (err as Error).message;
  },
});
