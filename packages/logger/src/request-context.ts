import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that travel with one request or one job and are stamped on every log line. */
export interface LogContext {
  requestId?: string;
  messageId?: string;
}

/** Holds the current LogContext; one per process, created by the composition root. */
export class RequestContext {
  private readonly storage = new AsyncLocalStorage<LogContext>();

  run<T>(context: LogContext, fn: () => T): T {
    return this.storage.run({ ...this.current(), ...context }, fn);
  }

  current(): LogContext {
    return this.storage.getStore() ?? {};
  }
}
