import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process with every Twillow metric, created by the composition root (no global
 * default registry, so tests can build several services in one process). Names follow Prometheus
 * conventions: counters end in `_total`, durations are in seconds.
 */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'twillow_http_requests_total',
      help: 'HTTP requests answered, by method, route and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'twillow_http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method and route.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ingestRejected: new Counter({
      name: 'twillow_ingest_rate_limited_total',
      help: 'Send requests refused with 429 by the ingest rate limit.',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    ingestAccepted: new Counter({
      name: 'twillow_ingest_accepted_total',
      help: 'Send requests accepted, stored and queued.',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'twillow_queue_jobs',
      help: 'Jobs in the SMS queue, by state (waiting, active, delayed, failed).',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    sends: new Counter({
      name: 'twillow_provider_sends_total',
      help: 'Provider requests, by provider and outcome (success, throttled, server_error, timeout, connection_error, rejected).',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
    sendLatency: new Histogram({
      name: 'twillow_provider_send_duration_seconds',
      help: 'Provider request latency in seconds, by provider.',
      labelNames: ['provider'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    limiterWait: new Histogram({
      name: 'twillow_rate_limiter_wait_seconds',
      help: 'Time a send waited for rate-limit room, in seconds.',
      buckets: [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    messages: new Counter({
      name: 'twillow_messages_finished_total',
      help: 'Messages that reached a final status, by status (sent, failed).',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    providerAvailable: new Gauge({
      name: 'twillow_provider_available',
      help: 'Provider availability as routing sees it: 1 available, 0.5 probing, 0 unavailable.',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
