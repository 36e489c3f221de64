/**
 * A process for run-service.test.ts: runService around a service that writes what happens to it.
 * FIXTURE_MODE: ok (starts, waits for a signal), bad-config (loadConfig throws a config error),
 * fail-start (start() rejects), slow-stop (stop() never settles).
 */
import { createLogger } from '@twillow/logger';
import { runService } from '../src';

const mode = process.env.FIXTURE_MODE ?? 'ok';
const say = (line: string) => process.stdout.write(`fixture: ${line}\n`);
/** What a real service's open server would do: keep the process alive until stopped. */
let alive: NodeJS.Timeout | undefined;

void runService({
  name: 'fixture-service',
  loadConfig: () => {
    if (mode === 'bad-config') {
      throw Object.assign(new Error('Invalid configuration: FIXTURE_PORT expected a number (got "abc").'), { code: 'CONFIG.INVALID' });
    }
    return { shutdownTimeoutMs: 300 };
  },
  compose: () => ({
    logger: createLogger({ service: 'fixture-service', version: 'test', level: 'error' }),
    async start() {
      if (mode === 'fail-start') throw new Error('Cannot reach the thing it needs.');
      alive = setInterval(() => undefined, 1000);
      say('started');
    },
    stop() {
      say('stopping');
      if (mode === 'slow-stop') return new Promise<void>(() => undefined);
      clearInterval(alive);
      return Promise.resolve();
    },
  }),
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
});
