import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SharedRateLimiter } from '@twillow/rate-limit';
import type { RedisKeys } from '@twillow/redis';
import { uniquePrefix } from '@twillow/testing';
import { captureLogger, Outcomes, redisKeys, startMonitor, testClients, type RunningMonitor } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.resolve(__dirname, '../../../results/screenshots/dashboard.png');
const ADMIN = 'browser-test-admin-key';
const quietLogger = captureLogger([]);

jest.setTimeout(90_000);

describe('the dashboard in headless Chromium', () => {
  const clients = testClients(quietLogger);
  const stops: (() => void)[] = [];
  let keys: RedisKeys;
  let redis: Redis;
  let monitor: RunningMonitor;
  let queue: Queue;
  let limiter: SharedRateLimiter;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium fonts-liberation`);
    const prefix = uniquePrefix('hm-browser');
    keys = redisKeys(prefix);
    redis = clients.make('test');
    // A long cooldown keeps provider1 unavailable until the screenshot is taken.
    monitor = await startMonitor(prefix, {
      ADMIN_API_KEY: ADMIN,
      HEALTH_WINDOW_MS: '5000',
      HEALTH_COOLDOWN_MS: '60000',
      HEALTH_MAX_COOLDOWN_MS: '60000',
      PROVIDER_WEIGHTS: '2,1,1',
    });
    queue = new Queue(keys.smsQueue, { prefix: keys.bullPrefix, connection: clients.make('queue') });
    limiter = new SharedRateLimiter(
      { redis, keys, logger: quietLogger },
      {
        providers: [
          { id: 'provider1', ratePerSecond: 50, weight: 2 },
          { id: 'provider2', ratePerSecond: 50, weight: 1 },
          { id: 'provider3', ratePerSecond: 50, weight: 1 },
        ],
        totalPerSecond: 200,
        marginMs: 5,
      },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  });

  afterAll(async () => {
    for (const stop of stops) stop();
    limiter?.close();
    await browser?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await monitor?.close();
    await clients.closeAll();
  });

  /** Dispatcher-like traffic: limiter reservations (rate bars) and their outcomes (window, latency). */
  function traffic(provider: 'provider1' | 'provider2' | 'provider3', everyMs: number, failing: () => boolean): void {
    const outcomes = new Outcomes(redis, keys);
    const timer = setInterval(() => {
      void (async () => {
        await limiter.acquire({ only: provider });
        if (failing()) {
          await outcomes.publisher.publish({ provider, kind: 'server_error', latency_ms: 30 + Math.round(Math.random() * 40), at: Date.now(), message_id: `msg-${Date.now().toString(36)}`, error: 'HTTP 503 Service Unavailable' });
        } else {
          await outcomes.send(provider, 'success', 1, 20 + Math.round(Math.random() * 60));
        }
      })().catch(() => undefined);
    }, everyMs);
    stops.push(() => clearInterval(timer));
  }

  it('shows provider1 available, then unavailable with the failures, live and without a reload', async () => {
    let provider1Fails = false;
    traffic('provider1', 40, () => provider1Fails);
    traffic('provider2', 60, () => false);
    traffic('provider3', 70, () => false);
    for (let i = 0; i < 12; i++) await queue.add('sms', { id: `q${i}` }, { jobId: `q${i}`, delay: i < 4 ? 60_000 : undefined });

    // The key once in the URL: the server sets the session cookie and redirects to a clean /dashboard.
    await page.goto(`${monitor.server.url}/dashboard?key=${encodeURIComponent(ADMIN)}`);
    expect(new URL(page.url()).search).toBe('');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'twillow_dashboard')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    const provider1 = page.locator('[data-provider="provider1"]');
    await provider1.and(page.locator('[data-state="available"]')).waitFor({ timeout: 10_000 });
    expect(await provider1.locator('[data-role="state"]').innerText()).toMatch(/available/i);
    await page.locator('[data-role="connection"]', { hasText: 'Live' }).waitFor({ timeout: 10_000 });

    // Mark this document: a reload or navigation would lose the mark.
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });

    provider1Fails = true;
    await provider1.and(page.locator('[data-state="unavailable"]')).waitFor({ timeout: 20_000 });
    expect(await provider1.locator('[data-role="state"]').innerText()).toMatch(/unavailable/i);
    expect(await provider1.locator('[data-role="reason"]').innerText()).toMatch(/failure ratio/i);
    await page.locator('[data-role="failure"]', { hasText: 'HTTP 503 Service Unavailable' }).first().waitFor({ timeout: 5_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(navigations).toBe(0);
    expect(await page.locator('[data-provider="provider2"]').getAttribute('data-state')).toBe('available');

    // One more tick so the rate bars and counts of the other providers are current in the picture.
    await page.waitForTimeout(1200);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });
});
