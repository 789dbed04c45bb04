/**
 * The dashboard fits a 1280×800 laptop and a 390×844 phone (no sideways
 * scrolling; every card, column and panel on screen), shows the business
 * counters (messages sent, inbox entries), and draws a CGI's sparse latencies
 * as a line rather than scattered dots. Real Chromium, real host with the
 * built-in messaging CGIs.
 */
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUsers, ROOT, startHost, tempDir, waitFor, writeCgis, type RunningHost, type User } from '../helpers/index.js';
import { sendText } from '../messaging/client.js';
import { CGIS } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'layout-token-1234';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

let browser: Browser;
let host: RunningHost;
let users: User[];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const cgisDir = tempDir('cgihost-cgis-');
  cpSync(join(ROOT, 'cgis'), cgisDir, { recursive: true });
  // A long name and a long error message: what cut the table off before.
  writeCgis(cgisDir, {
    'demo/ok.ts': CGIS['demo/ok.ts'],
    'demo/flaky_payment_gateway_callback.ts': CGIS['demo/fail.ts'].replace(
      'kaboom in fail',
      'upstream payment gateway answered 502 Bad Gateway after 3 retries (connection reset by peer)',
    ),
  });
  [browser, host] = await Promise.all([
    chromium.launch({ executablePath: CHROMIUM, args: FLAGS }),
    startHost({
      cgisDir,
      config: {
        watch: false,
        adminToken: TOKEN,
        alerts: [
          { name: 'payment_gateway_errors', metric: 'error_rate', target: 'flaky_payment_gateway_callback', threshold: 0.1, forSeconds: 0 },
        ],
      },
    }),
  ]);
  users = await newUsers(host, 3, 'dash');
  for (let i = 0; i < 5; i++) await sendText(host, users[0]!, users[1 + (i % 2)]!, `hello ${i}`);
  for (let i = 0; i < 3; i++) await host.post('flaky_payment_gateway_callback', {});
}, 60_000);

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
});

async function signedIn(viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  await page.goto(`${host.url}/_host/#token=${TOKEN}`);
  await page.locator('tr[data-cgi="sendmsg"]').waitFor();
  await page.locator('#alerts .item').first().waitFor();
  return page;
}

/** Elements whose box reaches past the right edge of the viewport (or of the document). */
async function cutOff(page: Page, selectors: string[]): Promise<string[]> {
  return page.evaluate((sels) => {
    const width = document.documentElement.clientWidth;
    const out: string[] = [];
    for (const sel of sels) {
      document.querySelectorAll(sel).forEach((el, i) => {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && (r.right > width + 0.5 || r.left < -0.5))
          out.push(`${sel}[${i}] ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
      });
    }
    return out;
  }, selectors);
}

describe.each([
  ['a 1280×800 laptop', { width: 1280, height: 800 }],
  ['a 390×844 phone', { width: 390, height: 844 }],
])('on %s', (_what, viewport) => {
  it('nothing needs sideways scrolling, and every card, CGI column and panel is on screen', async () => {
    const page = await signedIn(viewport);
    const doc = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(doc.scroll).toBe(doc.client);
    const parts = ['.kpi', '.panel', '#cgis tbody tr', '#cgis td', '#queues td', '#alerts .item', '#errors .item', '#errors .badge'];
    expect(await cutOff(page, parts)).toEqual([]);
    // The last-error column (with the error code) is visible.
    expect(await page.locator('tr[data-cgi="flaky_payment_gateway_callback"] td.lasterr').isVisible()).toBe(true);
    await page.screenshot({ path: join(tempDir('cgihost-shots-'), `dashboard-${viewport.width}.png`), fullPage: true });
    await page.close();
  });
});

it('shows the business counters: messages sent (by type) and inbox entries', async () => {
  const page = await signedIn({ width: 1280, height: 800 });
  const messages = page.locator('#kpi-messages');
  // 5 texts, each written into the sender's and the recipient's inbox.
  await expect.poll(() => messages.locator('.value').textContent(), { timeout: 10_000 }).toBe('5');
  expect(await messages.textContent()).toContain('text 5');
  expect(Number(await page.locator('#kpi-inbox .value').textContent())).toBeGreaterThanOrEqual(10);
  await page.close();
});

it('draws a latency sparkline across steps without requests as one line, not dots', async () => {
  // Requests in two 5-second steps with an idle one between: the p99 series is value, null, value.
  const points = async () =>
    ((await host.get('/_host/api/series?minutes=1', { token: TOKEN })).body.cgis.ok?.p99Ms ?? []) as Array<number | null>;
  await host.post('ok', { text: 'first' });
  await waitFor(async () => (await points()).some((v) => v !== null), 15_000, 250);
  const firstAt = (await points()).length;
  await waitFor(async () => (await points()).length >= firstAt + 2 && (await points()).at(-1) === null, 20_000, 250);
  await host.post('ok', { text: 'second' });
  await waitFor(async () => (await points()).filter((v) => v !== null).length >= 2, 15_000, 250);

  const page = await signedIn({ width: 1280, height: 800 });
  const d = await page.locator('tr[data-cgi="ok"] [data-field="latency"] svg path').last().getAttribute('d');
  // One stroke from the first request's point to the second's: a single move, then lines.
  expect(d?.match(/M/g)).toHaveLength(1);
  expect(d).toContain('L');
  await page.close();
}, 90_000);
