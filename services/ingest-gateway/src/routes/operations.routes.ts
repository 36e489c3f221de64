import { Router, type RequestHandler } from 'express';
import type { ProviderSettings } from '@twillow/config';
import type { providerHealthSchema, providerInfoSchema, rateLimitsResponseSchema, z } from '@twillow/contracts';
import { AppError, ErrorCodes, NotFoundError } from '@twillow/errors';
import type { RateLimitSnapshot } from '@twillow/rate-limit';
import type { AppDeps } from '../app';

type ProviderHealth = z.infer<typeof providerHealthSchema>;
type ProviderInfo = z.infer<typeof providerInfoSchema>;

/** Rate limits, provider health, distribution stats and provider status (operator endpoints). */
export function operationsRoutes(deps: AppDeps, requireAdmin: RequestHandler): Router {
  const { config } = deps;
  const router = Router({ caseSensitive: true });
  const byId = new Map(config.providers.map((p) => [p.id as string, p]));

  const provider = (id: string): ProviderSettings => {
    const found = byId.get(id);
    if (!found) throw new NotFoundError(ErrorCodes.unknownProvider, `Unknown provider "${id.slice(0, 40)}"; known: ${[...byId.keys()].join(', ')}.`);
    return found;
  };

  const health = (id: string): ProviderHealth => {
    const stored = deps.health.get(id);
    const state = deps.health.effectiveState(id);
    return {
      provider: id as ProviderHealth['provider'],
      state,
      is_healthy: state !== 'unavailable',
      stored_state: stored?.state ?? null,
      stale: stored ? stored.stale : true,
      since: stored?.since ?? null,
      updated_at: stored?.updated_at ?? null,
      reason: stored?.reason ?? 'no state recorded by the health monitor yet',
      cooldown_ms: stored?.cooldown_ms ?? null,
      probes_remaining: stored?.probes_remaining ?? null,
    };
  };

  const info = (p: ProviderSettings, snapshot: RateLimitSnapshot): ProviderInfo => {
    const counts = snapshot.providers[p.id];
    const h = health(p.id);
    return {
      id: p.id,
      url: p.url,
      rate_limit: p.ratePerSecond,
      weight: p.weight,
      health: h.state,
      stale: h.stale,
      current_count: counts?.count ?? 0,
      is_limited: counts?.limited ?? false,
    };
  };

  router.get('/rate-limits', async (_req, res) => {
    const [snapshot, ingest] = await Promise.all([viaRedis(() => deps.limiter.snapshot()), deps.ingestStore.get('global').catch(() => undefined)]);
    const ingestCount = ingest?.totalHits ?? 0;
    const body: z.infer<typeof rateLimitsResponseSchema> = {
      window_ms: snapshot.windowMs,
      global: counts(snapshot.global.count, snapshot.global.limit),
      providers: Object.fromEntries(
        config.providers.map((p) => {
          const c = snapshot.providers[p.id];
          return [p.id, { ...counts(c?.count ?? 0, p.ratePerSecond), backoff_ms: c?.backoffMs ?? 0, probe_tokens: c?.probeTokens ?? null, weight: p.weight }];
        }),
      ) as z.infer<typeof rateLimitsResponseSchema>['providers'],
      ingest: { ...counts(ingestCount, config.ingestLimit), window_ms: config.ingestWindowMs, fallback: deps.ingestStore.fallbackActive },
      timestamp: new Date().toISOString(),
    };
    res.json(body);
  });

  router.get('/health', (_req, res) => {
    const providers = Object.fromEntries(config.providers.map((p) => [p.id, health(p.id)]));
    res.json({
      providers,
      available_count: Object.values(providers).filter((h) => h.is_healthy).length,
      timestamp: new Date().toISOString(),
    });
  });

  router.get('/health/:provider_id', (req, res) => {
    res.json(health(provider(req.params.provider_id).id));
  });

  router.post('/health/:provider_id/reset', requireAdmin, async (req, res) => {
    const p = provider(String(req.params.provider_id));
    const heard = await viaRedis(() => deps.resetHealth(p.id));
    deps.logger.info('health reset requested', { provider: p.id, monitors_notified: heard });
    res.json({
      success: true,
      provider: p.id,
      message: heard > 0 ? `Health of ${p.id} reset` : `Reset of ${p.id} published, but no health monitor is listening`,
      monitors_notified: heard,
    });
  });

  router.get('/distribution-stats', async (_req, res) => {
    const stats = await viaRedis(() => deps.limiter.distribution());
    res.json({ strategy: 'smooth-weighted-round-robin', ...stats });
  });

  router.post('/distribution-stats/reset', requireAdmin, async (_req, res) => {
    await viaRedis(() => deps.limiter.resetDistribution());
    deps.logger.info('distribution stats reset');
    res.json({ success: true, message: 'Distribution stats reset' });
  });

  router.get('/providers', async (_req, res) => {
    const snapshot = await viaRedis(() => deps.limiter.snapshot());
    res.json({ providers: config.providers.map((p) => info(p, snapshot)), total_rate_limit: config.env.TOTAL_RATE_LIMIT });
  });

  for (const p of config.providers) {
    router.get(`/${p.id}/status`, async (_req, res) => {
      res.json(info(p, await viaRedis(() => deps.limiter.snapshot())));
    });
  }
  return router;
}

function counts(count: number, limit: number) {
  return { current_count: count, limit, remaining: Math.max(0, limit - count), is_limited: count >= limit };
}

/** Operator reads that need Redis answer 503 (not 500) while it is unreachable. */
async function viaRedis<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new AppError(ErrorCodes.redisUnavailable, 'Redis is unreachable; try again shortly.', 503, { cause: err, headers: { 'Retry-After': '1' } });
  }
}
