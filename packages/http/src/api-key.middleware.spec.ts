import express from 'express';
import { createLogger } from '@twillow/logger';
import { apiKeyAuth } from './api-key.middleware';
import { errorMiddleware } from './error.middleware';
import { listen, type RunningServer } from './http-server';

const logger = createLogger({ service: 'http-test', version: 'test', level: 'error' });

async function serve(options: Parameters<typeof apiKeyAuth>[0]): Promise<RunningServer> {
  const auth = apiKeyAuth(options);
  const app = express();
  app.get('/api', auth.requireKey, (_req, res) => {
    res.json({ key: res.locals.apiKeyId ?? null });
  });
  app.post('/admin', auth.requireAdmin, (_req, res) => {
    res.json({ ok: true });
  });
  app.use(errorMiddleware(logger));
  return listen(app, 0, '127.0.0.1');
}

describe('apiKeyAuth', () => {
  let server: RunningServer;
  afterEach(async () => server?.close());

  it('answers 401 without a key and 401 with a wrong one when keys are configured', async () => {
    server = await serve({ apiKeys: ['k1'], adminKey: 'adm' });
    const none = await fetch(`${server.url}/api`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { code: string }).code).toBe('AUTH.UNAUTHORIZED');
    const wrong = await fetch(`${server.url}/api`, { headers: { 'X-API-Key': 'nope' } });
    expect(wrong.status).toBe(401);
  });

  it('accepts a key as Bearer or X-API-Key and names it by a short hash, never the key', async () => {
    server = await serve({ apiKeys: ['k1', 'k2'], adminKey: 'adm' });
    const bearer = (await (await fetch(`${server.url}/api`, { headers: { Authorization: 'Bearer k2' } })).json()) as { key: string };
    const header = (await (await fetch(`${server.url}/api`, { headers: { 'X-API-Key': 'k2' } })).json()) as { key: string };
    expect(bearer.key).toMatch(/^[0-9a-f]{12}$/);
    expect(header.key).toBe(bearer.key);
    expect(bearer.key).not.toContain('k2');
  });

  it('answers 403 for an API key on an admin endpoint and lets the admin key through', async () => {
    server = await serve({ apiKeys: ['k1'], adminKey: 'adm' });
    expect((await fetch(`${server.url}/admin`, { method: 'POST', headers: { 'X-API-Key': 'k1' } })).status).toBe(403);
    expect((await fetch(`${server.url}/admin`, { method: 'POST', headers: { 'X-API-Key': 'adm' } })).status).toBe(200);
    expect((await fetch(`${server.url}/admin`, { method: 'POST' })).status).toBe(401);
  });

  it('runs open when no key is configured', async () => {
    server = await serve({ apiKeys: [] });
    expect((await fetch(`${server.url}/api`)).status).toBe(200);
    expect((await fetch(`${server.url}/admin`, { method: 'POST' })).status).toBe(200);
  });
});
