import type { Queue } from 'bullmq';
import type { AvailabilityState } from '@twillow/contracts';
import type { Logger } from '@twillow/logger';
import type { Metrics } from '@twillow/metrics';

/** Gauge value of a state, as the metric's help says (same mapping as the health monitor). */
export const AVAILABILITY_VALUE: Record<AvailabilityState, number> = { available: 1, probing: 0.5, unavailable: 0 };

/**
 * Refreshes the gateway's gauges on every scrape: queue depth from BullMQ (waiting includes paused,
 * as on the monitor's dashboard; completed jobs are no depth) and provider availability as this
 * gateway's health view sees it (effective state: a stale stored state counts as available).
 * A failing source keeps its last values and logs a warning; the scrape still answers.
 */
export function gatewayGaugeRefresher(deps: {
  metrics: Metrics;
  queue: Pick<Queue, 'getJobCounts'>;
  providers: readonly string[];
  health: { effectiveState(provider: string): AvailabilityState };
  logger: Logger;
}): () => Promise<void> {
  const { metrics, queue, providers, health, logger } = deps;
  return async () => {
    for (const p of providers) metrics.providerAvailable.set({ provider: p }, AVAILABILITY_VALUE[health.effectiveState(p)]);
    try {
      const c = await queue.getJobCounts('waiting', 'paused', 'active', 'delayed', 'failed');
      metrics.queueDepth.set({ state: 'waiting' }, (c.waiting ?? 0) + (c.paused ?? 0));
      for (const state of ['active', 'delayed', 'failed'] as const) metrics.queueDepth.set({ state }, c[state] ?? 0);
    } catch (err) {
      logger.warn('metrics: could not read the queue depth', { error: (err as Error)?.message });
    }
  };
}
