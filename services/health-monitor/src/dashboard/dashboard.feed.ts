import type { Response } from 'express';
import type { Logger } from '@twillow/logger';
import type { DashboardSnapshot } from './dashboard.data';

/**
 * Server-sent events for open dashboards: one snapshot per tick, built once and written to every
 * subscriber, so ten open tabs cost the same Redis reads as one. The timer runs only while someone
 * watches.
 */
export class DashboardFeed {
  private readonly clients = new Set<Response>();
  private timer?: NodeJS.Timeout;
  private building = false;
  private closed = false;

  constructor(
    private readonly build: () => Promise<DashboardSnapshot>,
    private readonly logger: Logger,
    /** Time between two snapshots, ms. */
    private readonly intervalMs = 1000,
  ) {}

  /** Takes over `res` as an event stream until the client leaves or the feed closes. */
  subscribe(res: Response): void {
    if (this.closed) {
      res.status(503).end();
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Reverse proxies such as nginx would otherwise buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimer();
    });
    // The newcomer gets a snapshot at once instead of waiting for the next tick.
    void this.push([res]);
    this.timer ??= setInterval(() => void this.push([...this.clients]), this.intervalMs);
  }

  get subscribers(): number {
    return this.clients.size;
  }

  /** Ends every stream (before server.close(), which would otherwise wait for them). Idempotent. */
  close(): void {
    this.closed = true;
    this.stopTimer();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async push(targets: Response[]): Promise<void> {
    // A slow Redis must not pile snapshots up: skip the tick while the previous one is building.
    if (this.building || targets.length === 0) return;
    this.building = true;
    try {
      const data = `event: snapshot\ndata: ${JSON.stringify(await this.build())}\n\n`;
      for (const res of targets) if (this.clients.has(res)) res.write(data);
    } catch (err) {
      this.logger.warn('dashboard snapshot failed', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.building = false;
    }
  }
}
