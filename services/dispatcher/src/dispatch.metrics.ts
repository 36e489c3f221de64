import type { Queue, Worker } from 'bullmq';
import type { Metrics } from '@twillow/metrics';
import type { OutcomeSink, SlotLimiter } from '@twillow/providers';
import type { HealthView } from './send-message.use-case';

const AVAILABILITY: Record<string, number> = { available: 1, probing: 0.5, unavailable: 0 };

/** Counts every provider answer by provider and outcome, and its latency, as it is published. */
export function meteredOutcomes(sink: OutcomeSink, metrics: Metrics): OutcomeSink {
  return {
    publish(event) {
      metrics.sends.inc({ provider: event.provider, outcome: event.kind });
      metrics.sendLatency.observe({ provider: event.provider }, event.latency_ms / 1000);
      return sink.publish(event);
    },
  };
}

/** Observes how long each granted send waited for rate-limit room. */
export function meteredLimiter(limiter: SlotLimiter, metrics: Metrics): SlotLimiter {
  return {
    async acquire(req) {
      const result = await limiter.acquire(req);
      if (result.kind === 'granted') metrics.limiterWait.observe(result.waitedMs / 1000);
      return result;
    },
    backoff: (provider, ms) => limiter.backoff(provider, ms),
    ...(limiter.release ? { release: (provider: string, member: string) => limiter.release!(provider, member) } : {}),
    ...(limiter.markAnswered ? { markAnswered: (provider: string, member: string) => limiter.markAnswered!(provider, member) } : {}),
  };
}

/** Counts messages that reached a final status in this dispatcher. */
export function countFinishedMessages(worker: Worker, metrics: Metrics): void {
  worker.on('completed', (_job, result: { status?: string } | undefined) => {
    if (result?.status === 'sent') metrics.messages.inc({ status: 'sent' });
  });
  worker.on('failed', (job, err) => {
    // Delays reach 'failed' too in BullMQ's vocabulary only as DelayedError; a final failure has
    // used up its attempts (the dispatcher sets attempts to 1 and does its own accounting).
    if (job && err.name !== 'DelayedError' && job.attemptsMade >= (job.opts.attempts ?? 1)) metrics.messages.inc({ status: 'failed' });
  });
}

/** Refreshes the queue-depth and availability gauges on each scrape. */
export function gaugeRefresher(deps: { metrics: Metrics; queue: Queue; health: HealthView; providers: readonly { id: string }[] }) {
  return async () => {
    const counts = await deps.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    for (const [state, n] of Object.entries(counts)) deps.metrics.queueDepth.set({ state }, n);
    for (const p of deps.providers) deps.metrics.providerAvailable.set({ provider: p.id }, AVAILABILITY[deps.health.effectiveState(p.id)] ?? 1);
  };
}
