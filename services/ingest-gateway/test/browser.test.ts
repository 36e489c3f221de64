import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startGateway, type TestGateway } from './harness';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'browser-admin-key-7d21';

jest.setTimeout(90_000);

/**
 * Swagger UI and Bull Board under the gateway's helmet CSP, in headless Chromium: both must render
 * and the browser must report no CSP violation (a blocked script leaves a blank page that an HTTP
 * 200 alone would not reveal).
 */
describe('/docs and /admin/queues in a browser, under the CSP', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium fonts-liberation`);
    gw = await startGateway({ env: { API_KEYS: 'browser-client-key', ADMIN_API_KEY: ADMIN } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    // Only the gateway: external requests (Bull Board's Google Fonts) are cut off, as offline.
    await page.route('**/*', (route) => (route.request().url().startsWith(gw.url) ? route.continue() : route.abort()));
    page.on('console', (msg) => {
      if (/content security policy|refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('renders Swagger UI at /docs with the API title and its operations', async () => {
    problems.length = 0;
    await page.goto(`${gw.url}/docs/`);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 30_000 });
    expect(await page.textContent('.swagger-ui .info .title')).toContain('Twillow');
    await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
    expect(await page.locator('.opblock-summary-path').allTextContents()).toContain('/api/sms/send');
    expect(problems).toEqual([]);
  });

  it('renders Bull Board after ?key=<admin key> (cookie session) and shows the sms queue', async () => {
    problems.length = 0;
    await page.goto(`${gw.url}/admin/queues?key=${ADMIN}`);
    expect(page.url()).toBe(`${gw.url}/admin/queues`); // the key left the address bar
    // The board's own React app lists the queue with a link to it.
    await page.waitForSelector(`a[href*="queue/${gw.keys.smsQueue}"]`, { timeout: 30_000 });
    expect(problems).toEqual([]);
  });
});
