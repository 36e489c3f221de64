import type { AvailabilityState } from '@twillow/contracts';
import type { Logger } from '@twillow/logger';
import type { Metrics } from '@twillow/metrics';
import type { HealthMonitor } from './health-monitor';
import type { QueueCounts } from './dashboard/dashboard.data';

/** Gauge value of a state, as the metric's help says: routing weight of the provider. */
export const AVAILABILITY_VALUE: Record<AvailabilityState, number> = { available: 1, probing: 0.5, unavailable: 0 };

/** The queue states the twillow_queue_jobs gauge carries (completed jobs are not a depth). */
const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * Refreshes the gauges this monitor owns, on every scrape: provider availability from the monitor's
 * states and queue depth from BullMQ. A failing source keeps its last values and logs a warning.
 */
export function gaugeRefresher(deps: {
  metrics: Metrics;
  monitor: Pick<HealthMonitor, 'reports'>;
  queueCounts: () => Promise<QueueCounts>;
  logger: Logger;
}): () => Promise<void> {
  const { metrics, monitor, queueCounts, logger } = deps;
  return async () => {
    const [reports, counts] = await Promise.allSettled([monitor.reports(), queueCounts()]);
    if (reports.status === 'fulfilled') {
      for (const r of reports.value) metrics.providerAvailable.set({ provider: r.provider }, AVAILABILITY_VALUE[r.state]);
    }
    if (counts.status === 'fulfilled') {
      for (const state of DEPTH_STATES) metrics.queueDepth.set({ state }, counts.value[state]);
    } else {
      logger.warn('metrics: could not read the queue depth', { error: counts.reason instanceof Error ? counts.reason.message : String(counts.reason) });
    }
  };
}
