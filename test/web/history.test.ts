/**
 * A long conversation in the web client: it opens at the newest message with
 * only what is on screen rendered, and scrolling up loads older pages
 * (gethistory) until the first message, with the number of rendered items
 * bounded all the way. (bench/web.mjs times the same with 10,000 messages.)
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newUser, type RunningHost, type User } from '../helpers/index.js';
import { sendText } from '../messaging/client.js';
import {
  conversation,
  expectClean,
  launchBrowser,
  messageItem,
  messages,
  openPerson,
  PASSWORD,
  startChatHost,
  type Person,
} from './support.js';

const COUNT = 1_000;
let browser: Browser;
let host: RunningHost;
let alice: User;
let bob: User;
let person: Person;

const label = (i: number) => `message ${String(i).padStart(4, '0')}`;

beforeAll(async () => {
  [browser, host] = await Promise.all([launchBrowser(), startChatHost()]);
  [alice, bob] = await Promise.all([newUser(host, 'alice'), newUser(host, 'bob')]);
  // Both write, so neither sender's rate limit is reached; one after another, so the labels follow the seqs.
  for (let n = 0; n < COUNT; n++) await (n % 2 ? sendText(host, bob, alice, label(n)) : sendText(host, alice, bob, label(n)));
  person = await openPerson(browser, host, alice.username);
}, 180_000);

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
});

it('opens a long conversation at its newest message and pages back to its first, rendering only what is on screen', async () => {
  const page = person.page;
  let historyCalls = 0;
  page.on('request', (r) => r.url().endsWith('/cgi-bin/gethistory') && historyCalls++);
  await page.goto(host.url);
  await page.getByLabel('Username').fill(alice.username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await conversation(page, bob.username).click();
  await messageItem(page, label(COUNT - 1)).waitFor();
  const rendered = () => messages(page).getByRole('listitem').count();
  expect(await rendered()).toBeLessThan(80);

  const scroller = page.locator('.vscroller');
  const loaded = async () => Number(await scroller.getAttribute('data-count'));
  let most = 0;
  for (let round = 0; round < 200 && !(await messageItem(page, label(0)).isVisible()); round++) {
    const before = await loaded();
    await scroller.evaluate((el) => el.scrollBy(0, -el.clientHeight * 3));
    // At the top of what is loaded, the next page comes; elsewhere the view just moved.
    await page.waitForFunction(
      ([n, first]) => {
        const el = document.querySelector<HTMLElement>('.vscroller')!;
        const atTop = el.scrollHeight - el.clientHeight + el.scrollTop < 2;
        return !atTop || Number(el.dataset.count) > n || el.textContent!.includes(first);
      },
      [before, label(0)] as const,
      { timeout: 15_000 },
    );
    most = Math.max(most, await rendered());
  }
  await messageItem(page, label(0)).waitFor();
  expect(await loaded()).toBeGreaterThanOrEqual(COUNT);
  expect(historyCalls).toBeGreaterThanOrEqual(COUNT / 100);
  // Never more than a few screens' worth in the DOM.
  expect(most).toBeLessThan(120);
  // The labels come in order, oldest at the top.
  const shown = await messages(page).getByRole('listitem').allTextContents();
  const numbers = shown
    .map((t) => /message (\d{4})/.exec(t)?.[1])
    .filter(Boolean)
    .map(Number);
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));

  // Back to the newest with one button.
  await page.getByRole('button', { name: 'Jump to latest' }).click();
  await messageItem(page, label(COUNT - 1)).waitFor();
  expectClean(person);
}, 180_000);
