export { createMetrics, type Metrics } from './metrics';
export { httpMetricsMiddleware, metricsHandler } from './http-metrics.middleware';
