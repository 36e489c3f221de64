/**
 * Runs async operations one after another. The better-sqlite3 adapter keeps ONE connection per
 * PrismaClient and only its interactive transactions take a lock: a plain query issued while a
 * transaction is open would run inside it (and vanish if it rolls back). Every database operation
 * of a Database goes through one queue so that can never happen. The connection is synchronous
 * anyway, so this costs no parallelism.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    // The queue continues after a failure; the caller still sees the rejection through `result`.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once every operation queued so far has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
