/**
 * The dashboard's CGI-platform panels in a real browser: a topic with its
 * consumer and a dead letter that the page retries; a schedule run from the
 * page; a business metric with its value. With an admin token, as a real
 * deployment would have, signed in through the sign-in page.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost } from '../helpers/index.js';
import { value } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-token-17';

let browser: Browser;
let host: RunningHost;
let page: Page;
const pageErrors: string[] = [];

const kvAs = (body: Record<string, unknown>) => host.post('kv', body);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  [browser, host] = await Promise.all([
    chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
    startHost({
      files: {
        'p/kv.ts': '@platform/kv.ts',
        'p/flaky.ts': '@platform/flaky.ts',
        'p/ticker.ts': '@platform/ticker.ts',
        'p/biz.ts': '@platform/biz.ts',
      },
      config: { watch: false, adminToken: TOKEN, queue: { backoffBaseMs: 20, backoffMaxMs: 50 } },
    }),
  ]);
  page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Signed in as a browser is (the sign-in page takes #token=…): reads and the page's own buttons go with its cookie.
  await page.goto(`${host.url}/_host/#token=${TOKEN}`);
  await page.locator('#queues').waitFor();
}, 60_000);

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
  expect(pageErrors).toEqual([]);
});

describe('the platform panels of /_host/', () => {
  it('show a topic with its consumer and dead letter; the page retries it, and the fixed job is done', async () => {
    await kvAs({ op: 'send', topic: 'flaky', payload: { id: 'd1' } });
    const row = page.locator('#queues tr[data-topic="flaky"]');
    await expect.poll(() => row.locator('[data-field="dead"]').textContent(), { timeout: 15_000 }).toMatch(/^1/);
    expect(await row.textContent()).toContain('flaky');
    await row.getByRole('button', { name: 'show' }).click();
    const item = page.locator('#dead .item');
    await item.first().waitFor();
    expect(await item.first().textContent()).toContain('try 3 of d1 fails');
    await host.post('kv', { op: 'set', key: ['fixed', 'd1'], value: true });
    await item.first().getByRole('button', { name: 'retry' }).click();
    await waitFor(async () => (await value(host, 'kv', ['done', 'd1'])) !== null, 10_000);
    await expect.poll(() => row.locator('[data-field="dead"]').textContent(), { timeout: 10_000 }).toBe('0');
  });

  it('show a schedule with its cron and next run, and run it from the page', async () => {
    const row = page.locator('#schedules tr[data-schedule="ticker"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('* * * * *');
    await row.getByRole('button', { name: 'run now' }).click();
    await waitFor(async () => (await value(host, 'kv', ['runs'])) !== null, 10_000);
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('ok');
  });

  it('show a business metric with its rate and label sets', async () => {
    await host.post('biz', { kind: 'counter', name: 'signups', n: 7, spread: true });
    const row = page.locator('#biz tr[data-biz="p.signups"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('counter');
    await expect.poll(() => row.locator('[data-field="value"]').textContent(), { timeout: 10_000 }).toContain('(7)');
    expect(await row.locator('td').nth(3).textContent()).toBe('7');
  });
});
