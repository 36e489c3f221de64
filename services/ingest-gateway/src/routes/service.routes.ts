import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { AppDeps } from '../app';

/** Checks slower than this count as failed, in ms. */
const CHECK_TIMEOUT_MS = 1000;

/** GET /health, the OpenAPI document and Swagger UI. */
export function serviceRoutes(deps: AppDeps): Router {
  const router = Router({ caseSensitive: true });

  router.get('/health', async (_req, res) => {
    const [redis, database] = await Promise.all([check(deps.checks.redis), check(deps.checks.database)]);
    if (redis && database) {
      res.json({ status: 'healthy' });
      return;
    }
    const failing = [...(redis ? [] : ['redis' as const]), ...(database ? [] : ['database' as const])];
    deps.logger.warn('health check failing', { failing });
    res.status(503).json({
      status: 'unhealthy',
      failing,
      checks: { redis: redis ? 'ok' : 'unreachable', database: database ? 'ok' : 'unreachable' },
    });
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi);
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(deps.openapi, { customSiteTitle: 'Twillow SMS gateway API' }));
  return router;
}

async function check(fn: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
