import type { RequestListener } from 'node:http';
import type { Logger } from '@twillow/logger';

export interface HealthChecks {
  /** Resolves when Redis answers. */
  redis(): Promise<void>;
  /** Resolves when the database answers. */
  database(): Promise<void>;
  /** True while the worker takes jobs. */
  worker(): boolean;
}

/** GET /health: 200 when Redis, the database and the worker are fine, else 503; JSON 404 for the rest. */
export function createHealthHandler(checks: HealthChecks, logger: Logger, timeoutMs = 2000): RequestListener {
  const probe = async (check: () => Promise<void>): Promise<'ok' | 'down'> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return 'ok';
    } catch (err) {
      logger.warn('health check failed', { error: (err as Error).message });
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/health') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 404, code: 'REQUEST.NOT_FOUND', message: `No route ${req.method} ${path}.` }));
      return;
    }
    void (async () => {
      const [redis, database] = await Promise.all([probe(checks.redis), probe(checks.database)]);
      const worker = checks.worker() ? 'ok' : 'down';
      const healthy = redis === 'ok' && database === 'ok' && worker === 'ok';
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: healthy ? 'ok' : 'degraded', service: 'dispatcher', checks: { redis, database, worker } }));
    })();
  };
}
