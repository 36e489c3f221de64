import express from 'express';
import { adminSession } from './admin-session';
import { listen } from './http-server';

describe('adminSession', () => {
  let t = 1_000_000;
  const session = adminSession({ adminKey: 's3cret-key', cookieName: 'c', path: '/admin', sessionMs: 1000, now: () => t });

  async function roundTrip(cookie?: string): Promise<{ valid: boolean; setCookie: string | null }> {
    const app = express();
    app.get('/admin/start', (req, res) => {
      session.start(req, res);
      res.end();
    });
    app.get('/admin/check', (req, res) => {
      res.json({ valid: session.valid(req) });
    });
    const server = await listen(app, 0, '127.0.0.1');
    try {
      const started = await fetch(`${server.url}/admin/start`);
      const setCookie = started.headers.get('set-cookie');
      const check = await fetch(`${server.url}/admin/check`, { headers: cookie ? { cookie } : {} });
      return { valid: ((await check.json()) as { valid: boolean }).valid, setCookie };
    } finally {
      await server.close(0);
    }
  }

  it('signs an HttpOnly, SameSite=Strict cookie scoped to the path that holds no key', async () => {
    const { setCookie } = await roundTrip();
    expect(setCookie).toMatch(/^c=\d+\.[\w-]+; Max-Age=1; Path=\/admin; Expires=.*; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain('s3cret');
  });

  it('accepts its own cookie until it expires and refuses a forged one', async () => {
    const { setCookie } = await roundTrip();
    const cookie = (setCookie ?? '').split(';')[0];
    expect((await roundTrip(cookie)).valid).toBe(true);
    expect((await roundTrip(cookie.replace(/\.[\w-]+$/, '.forged'))).valid).toBe(false);
    t += 2000;
    expect((await roundTrip(cookie)).valid).toBe(false);
  });

  it('compares keys in constant time and never accepts without an admin key', () => {
    expect(session.isAdminKey('s3cret-key')).toBe(true);
    expect(session.isAdminKey('nope')).toBe(false);
    expect(adminSession({ cookieName: 'c', path: '/' }).isAdminKey('')).toBe(false);
  });
});
