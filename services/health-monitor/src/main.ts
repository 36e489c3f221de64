import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@twillow/config';
import { runService } from '@twillow/http';
import { compose } from './compose';
import { healthMonitorEnvSchema } from './config';

/** Process concerns only (runService): config, compose, start, signals, hard shutdown timeout. */
void runService({
  name: 'health-monitor',
  loadConfig: () => loadConfig(healthMonitorEnvSchema, process.env),
  compose: (env) => {
    const service = compose(env, { version: readVersion() });
    return { logger: service.logger, start: () => service.start(), stop: () => service.close() };
  },
  shutdownTimeoutMs: (env) => env.SHUTDOWN_TIMEOUT_MS,
});

function readVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
