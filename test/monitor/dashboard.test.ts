/**
 * The dashboard in a real browser (Debian's chromium driven by
 * playwright-core): it renders every CGI, and its numbers move after traffic
 * without a reload. The host has an admin token: the page sends the one it
 * was given in its address, or asks for it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGIS } from './support.js';
import { type RunningHost, startHost } from '../helpers/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-token-42';

let browser: Browser;
let host: RunningHost;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  [browser, host] = await Promise.all([
    chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
    startHost({
      files: CGIS,
      config: {
        watch: false,
        adminToken: TOKEN,
        faults: { crashLimit: 1, probeInitialMs: 60_000 },
        alerts: [{ name: 'fail_errors', metric: 'error_rate', target: 'fail', threshold: 0.2, forSeconds: 0 }],
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
});

/**
 * A new page whose load of /_host/ itself carries the admin token, as a proxy
 * in front of the host would add it (SPEC §5 wants it on the page too); the
 * page's own API calls carry only what the page sends.
 */
async function adminPage(opts?: Parameters<Browser['newPage']>[0]) {
  const page = await browser.newPage(opts);
  await page.route(`${host.url}/_host/`, (route) =>
    route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${TOKEN}` } }),
  );
  return page;
}

describe('GET /_host/ in Chromium', () => {
  it('lists every CGI, then updates its numbers after traffic, without reloading', async () => {
    const page = await adminPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(`${host.url}/_host/#token=${TOKEN}`);
    for (const name of ['ok', 'fail', 'crash']) await page.locator(`tr[data-cgi="${name}"]`).waitFor();
    await expect.poll(() => page.locator('tr[data-cgi="ok"] .name').textContent()).toBe('ok');
    expect(await page.locator('tr[data-cgi="ok"] [data-field="requests"]').textContent()).toBe('0');
    expect(await page.locator('tr[data-cgi="ok"] [data-field="state"]').textContent()).toBe('ready');

    for (let i = 0; i < 25; i++) await host.post('ok', { text: `hi ${i}` });
    for (let i = 0; i < 3; i++) await host.post('fail', {});
    await host.post('crash', {});

    const cell = (cgi: string, field: string) => page.locator(`tr[data-cgi="${cgi}"] [data-field="${field}"]`).textContent();
    await expect.poll(() => cell('ok', 'requests'), { timeout: 6_000 }).toBe('25');
    await expect.poll(() => cell('fail', 'requests'), { timeout: 6_000 }).toBe('3');
    await expect.poll(() => cell('crash', 'state'), { timeout: 6_000 }).toBe('quarantined');
    await expect.poll(() => cell('crash', 'restarts')).toBe('1');
    // The live rate (last 10 s) turns non-zero once the monitor has sampled a second.
    await expect.poll(async () => Number((await cell('ok', 'rps'))?.trim()), { timeout: 4_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#alerts').textContent(), { timeout: 4_000 }).toContain('fail_errors');
    await expect.poll(() => page.locator('#errors').textContent()).toContain('kaboom in fail');
    expect(await page.locator('tr[data-cgi="ok"] svg.spark').count()).toBeGreaterThan(0);
    expect(await page.locator('#live').getAttribute('class')).toContain('ok');
    expect(loads).toBe(1);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });
    await page.close();
  });

  it('takes the token out of its address (it keeps it for the tab)', async () => {
    const page = await adminPage();
    await page.goto(`${host.url}/_host/#token=${TOKEN}`);
    await page.locator('tr[data-cgi="ok"]').waitFor();
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.locator('#auth').isVisible()).toBe(false);
    await page.close();
  });

  it('given no token, asks for one after the 401, and goes on once given', async () => {
    const page = await adminPage();
    await page.goto(`${host.url}/_host/`);
    await page.locator('#auth').waitFor({ state: 'visible' });
    expect(await page.locator('tr[data-cgi]').count()).toBe(0);
    await page.fill('#token', TOKEN);
    await page.click('#auth button');
    await page.locator('tr[data-cgi="ok"]').waitFor();
    expect(await page.locator('#auth').isVisible()).toBe(false);
    await page.close();
  });
});
