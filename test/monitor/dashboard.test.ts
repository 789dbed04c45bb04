/**
 * The dashboard in a real browser (Debian's chromium driven by
 * playwright-core): it renders every CGI, and its numbers move after traffic
 * without a reload. The host has an admin token, and the browser is a plain
 * one (no proxy adding headers): a person signs in with the token on the
 * sign-in page, or opens /_host/#token=… once.
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

/** A fresh browser context: no cookie from another test. */
async function plainPage(opts?: Parameters<Browser['newPage']>[0]) {
  return browser.newPage(opts);
}

describe('GET /_host/ in Chromium', () => {
  it('lists every CGI, then updates its numbers after traffic, without reloading', async () => {
    const page = await plainPage({ viewport: { width: 1400, height: 1000 } });
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

  it('signs in from /_host/#token=… at once, and takes the token out of the address', async () => {
    const page = await plainPage();
    await page.goto(`${host.url}/_host/#token=${TOKEN}`);
    await page.locator('tr[data-cgi="ok"]').waitFor();
    expect(page.url()).toBe(`${host.url}/_host/`);
    await page.close();
  });

  it('a plain browser gets a sign-in page, signs in with the token, stays signed in, and signs out', async () => {
    const page = await plainPage();
    const res = await page.goto(`${host.url}/_host/`);
    expect(res?.status()).toBe(401);
    await page.getByLabel('Admin token').fill('not the token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not this host’s admin token');
    expect(await page.locator('tr[data-cgi]').count()).toBe(0);

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-cgi="ok"]').waitFor();
    expect(page.url()).toBe(`${host.url}/_host/`);
    // The cookie is HttpOnly: the page's scripts never see the token or the session.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.reload();
    await page.locator('tr[data-cgi="ok"]').waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect((await page.goto(`${host.url}/_host/`))?.status()).toBe(401);
    await page.close();
  });

  it('shows a signed-out notice when the session stops working, with a way to sign in again', async () => {
    const page = await plainPage();
    await page.goto(`${host.url}/_host/#token=${TOKEN}`);
    await page.locator('tr[data-cgi="ok"]').waitFor();
    await page.context().clearCookies();
    await page.locator('#auth').waitFor({ state: 'visible' });
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.close();
  });
});
