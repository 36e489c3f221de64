import type { Response } from 'express';

/**
 * Responses the mock is still sitting on: delayed answers (latency, slow mode) and held ones
 * (timeout mode). A client that goes away frees its entry; `abortAll` ends the rest on shutdown,
 * so closing the server never waits for a request that was meant never to be answered.
 */
export class PendingResponses {
  private readonly pending = new Map<Response, NodeJS.Timeout | undefined>();

  /** Sends the answer after `delayMs` (at once when 0), unless the client left first. */
  answerAfter(res: Response, delayMs: number, answer: () => void): void {
    if (delayMs <= 0) return answer();
    const timer = setTimeout(() => {
      this.pending.delete(res);
      if (!res.destroyed && !res.writableEnded) answer();
    }, delayMs);
    this.track(res, timer);
  }

  /** Never answers; keeps the socket open until the client leaves or `abortAll` runs. */
  hold(res: Response): void {
    this.track(res, undefined);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Cancels every pending answer and destroys its socket. */
  abortAll(): void {
    for (const [res, timer] of this.pending) {
      if (timer) clearTimeout(timer);
      res.socket?.destroy();
    }
    this.pending.clear();
  }

  private track(res: Response, timer: NodeJS.Timeout | undefined): void {
    this.pending.set(res, timer);
    res.once('close', () => {
      const t = this.pending.get(res);
      if (t) clearTimeout(t);
      this.pending.delete(res);
    });
  }
}
