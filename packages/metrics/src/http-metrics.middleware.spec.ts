import type { AddressInfo } from 'node:net';
import express, { Router, type ErrorRequestHandler } from 'express';
import { httpMetricsMiddleware } from './http-metrics.middleware';
import { createMetrics } from './metrics';

describe('httpMetricsMiddleware', () => {
  it('labels requests with the mounted route pattern, also when the handler throws, and 404s as unmatched', async () => {
    const metrics = createMetrics('spec');
    const app = express();
    app.use(httpMetricsMiddleware(metrics));
    const router = Router();
    router.get('/items/:id', (req, res) => {
      if (req.params.id === 'bad') throw new Error('bad id');
      res.json({ id: req.params.id });
    });
    app.use('/api', router);
    const onError: ErrorRequestHandler = (_err, _req, res, _next) => {
      res.status(400).json({ error: true });
    };
    app.use(onError);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ['/api/items/1', '/api/items/2', '/api/items/bad', '/nowhere']) await (await fetch(`${base}${path}`)).text();
    } finally {
      await new Promise((r) => server.close(r));
    }
    const text = await metrics.registry.getSingleMetricAsString('twillow_http_requests_total');
    expect(text).toContain('twillow_http_requests_total{method="GET",route="/api/items/:id",status="200",service="spec"} 2');
    expect(text).toContain('twillow_http_requests_total{method="GET",route="/api/items/:id",status="400",service="spec"} 1');
    expect(text).toContain('twillow_http_requests_total{method="GET",route="unmatched",status="404",service="spec"} 1');
    expect(text).not.toMatch(/route="\/api\/items\/(1|2|bad)"/);
  });
});
