export { createMetrics, type Metrics } from './metrics';
export { httpMetricsMiddleware, metricsHandler, UNMATCHED_ROUTE } from './http-metrics.middleware';
