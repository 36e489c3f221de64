import { listen } from '@twillow/http';
import { createLogger, type Logger } from '@twillow/logger';
import { createMockApp } from './app';
import { MockState, type MockMode, type MonotonicClock } from './mock-state';
import { PendingResponses } from './pending-responses';

export interface ProviderMockOptions {
  /** Provider id; the send path is POST /api/sms/<providerId>. Default provider1. */
  providerId?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Requests let through in any 1-second interval before 429. Default 50. */
  rateLimit?: number;
  /** Fixed delay before every answer, in ms. Default 0. */
  latencyMs?: number;
  /** Uniform random extra delay up to this, in ms. Default 0. */
  jitterMs?: number;
  /** Probability (0..1) of a random 500 in up and flaky modes. Default 0. */
  failureRate?: number;
  /** Delay of every answer in slow mode, in ms. Default 3000. */
  slowMs?: number;
  /** Answer a repeated accepted message_id with its original reference instead of delivering it again. Default true. */
  dedupe?: boolean;
  /** Starting mode. Default up. */
  mode?: MockMode;
  /** Logger; default a console logger at `logLevel`. */
  logger?: Logger;
  /** Level of the default logger. Default warn (quiet in other projects' tests). */
  logLevel?: string;
  /** Monotonic ms clock of the limiter and the window counters. Default performance.now. */
  now?: MonotonicClock;
  /** Random numbers in [0, 1) for failures and jitter. Default Math.random. */
  random?: () => number;
}

export interface RunningProviderMock {
  /** Base URL, e.g. http://127.0.0.1:8071 (no path). */
  url: string;
  /** Full send URL: `${url}/api/sms/<providerId>` (what PROVIDERn_URL points at). */
  sendUrl: string;
  port: number;
  state: MockState;
  /** Stops accepting, drops delayed and held answers, waits for the server to close. Idempotent. */
  close(): Promise<void>;
}

/** Starts one provider mock in this process; resolves once it listens. */
export async function startProviderMock(options: ProviderMockOptions = {}): Promise<RunningProviderMock> {
  const providerId = options.providerId ?? 'provider1';
  const logger = options.logger ?? createLogger({ service: `provider-mock-${providerId}`, version: '0.1.0', level: options.logLevel ?? 'warn' });
  const state = new MockState(
    providerId,
    {
      rateLimit: options.rateLimit ?? 50,
      latencyMs: options.latencyMs ?? 0,
      jitterMs: options.jitterMs ?? 0,
      failureRate: options.failureRate ?? 0,
      slowMs: options.slowMs ?? 3000,
      dedupe: options.dedupe ?? true,
    },
    options.mode ?? 'up',
    options.now,
  );
  const pending = new PendingResponses();
  const app = createMockApp(state, { logger, pending, random: options.random });
  const server = await listen(app, options.port ?? 0, options.host ?? '127.0.0.1');
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    sendUrl: `${server.url}/api/sms/${providerId}`,
    port: server.port,
    state,
    close: () =>
      (closing ??= (async () => {
        const closed = server.close();
        pending.abortAll();
        await closed;
      })()),
  };
}
