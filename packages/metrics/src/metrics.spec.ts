import { createMetrics } from './metrics';

describe('createMetrics', () => {
  it('keeps each registry separate so two services in one process do not share counts', async () => {
    const a = createMetrics('a');
    const b = createMetrics('b');
    a.sends.inc({ provider: 'provider1', outcome: 'success' });
    expect(await a.registry.getSingleMetricAsString('twillow_provider_sends_total')).toContain(
      'twillow_provider_sends_total{provider="provider1",outcome="success",service="a"} 1',
    );
    expect(await b.registry.getSingleMetricAsString('twillow_provider_sends_total')).not.toContain('provider1');
  });

  it('names counters with _total and durations in _seconds', async () => {
    const m = createMetrics('x');
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).filter((n) => n.startsWith('twillow_'));
    for (const name of names) expect(name).toMatch(/(_total|_seconds|_jobs|_available)$/);
  });
});
