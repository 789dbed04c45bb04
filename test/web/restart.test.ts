/**
 * A send while the host is down (SPEC §7): the message shows as pending,
 * and once the host is back on the same address and data it goes out with
 * the same clientMsgId, once: "Pending" turns into sent, the peer sees it
 * live, and the peer's inbox holds it exactly once. And a send the host
 * committed whose answer was lost, or never came: retried with the same
 * clientMsgId, stored once.
 */
import type { Browser, Route } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHost } from '../helpers/index.js';
import {
  becomeContacts,
  conversation,
  expectClean,
  launchBrowser,
  messageItem,
  nav,
  openPerson,
  send,
  signUp,
  startChatHost,
  uniqueName,
  type Person,
} from './support.js';

let browser: Browser;
const hosts: RunningHost[] = [];
let alice: Person;
let bob: Person;
// The browser reports each refused connection while the host is down: expected here, and nothing else is.
const DOWN = /net::ERR_CONNECTION_REFUSED|net::ERR_EMPTY_RESPONSE|net::ERR_CONNECTION_RESET/;

/** The entries of `who`'s inbox whose content is `text` (sync from 0, through the host's API). */
async function inboxCopies(host: RunningHost, who: Person, text: string): Promise<Array<{ from: string; clientMsgId?: string }>> {
  const token = await who.page.evaluate(() => (JSON.parse(localStorage.getItem('cgihost.session')!) as { token: string }).token);
  const synced = await host.post('sync', { syncKey: 0, limit: 500 }, { token });
  expect(synced.status, synced.text).toBe(200);
  return (synced.body.messages as Array<{ content?: string; from: string; clientMsgId?: string }>).filter((m) => m.content === text);
}

beforeAll(async () => {
  let host: RunningHost;
  [browser, host] = await Promise.all([launchBrowser(), startChatHost()]);
  hosts.push(host);
  alice = await openPerson(browser, host, uniqueName('alice'), { allowErrors: DOWN });
  bob = await openPerson(browser, host, uniqueName('bob'), { allowErrors: DOWN });
  await Promise.all([signUp(alice, host.url), signUp(bob, host.url)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([browser?.close(), ...hosts.map((h) => h.kill())]);
});

it('shows a send as pending while the host is down, then sends it once when it is back', async () => {
  const first = hosts[0]!;
  await becomeContacts(alice, bob);
  await nav(alice.page, 'Chats').click();
  await conversation(alice.page, bob.name).click();
  await nav(bob.page, 'Chats').click();
  await conversation(bob.page, alice.name).click();
  await send(alice.page, 'Before the restart', 'enter');
  await messageItem(bob.page, 'Before the restart').waitFor({ timeout: 15_000 });

  expect(await first.stop()).toBe(0);
  const text = 'Sent while the host was down';
  await send(alice.page, text, 'enter');
  const item = messageItem(alice.page, text);
  await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('Pending');
  await alice.page.getByText('Connecting…').first().waitFor({ timeout: 30_000 });

  const second = await startChatHost({ dataDir: first.dataDir, args: ['--port', String(first.port)] });
  hosts.push(second);
  expect(second.port).toBe(first.port);
  // Retried with backoff (at most 15 s apart), then sent: no longer pending, and Bob has it.
  await expect.poll(() => item.textContent(), { timeout: 45_000 }).not.toContain('Pending');
  expect(await item.textContent()).not.toContain('Not sent');
  await messageItem(bob.page, text).waitFor({ timeout: 45_000 });
  await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('Read');
  expect(await messageItem(bob.page, text).count()).toBe(1);
  expect(await messageItem(alice.page, text).count()).toBe(1);

  // Exactly once in Bob's inbox, whatever the client retried.
  expect(await inboxCopies(second, bob, text)).toHaveLength(1);

  // And the conversation goes on.
  await send(bob.page, 'Got it after the restart', 'enter');
  await messageItem(alice.page, 'Got it after the restart').waitFor({ timeout: 15_000 });
  expectClean(alice, bob);
}, 240_000);

it('retries a send whose answer was lost, then one whose answer never came, with the same clientMsgId: stored once', async () => {
  const host = hosts[hosts.length - 1]!;
  const page = alice.page;
  // Alice's sync is cut first (a held poll would bring her own entry and settle the send without a retry):
  // every poll from now on fails, and Bob's message ends the one in flight, so she is soon "Connecting…".
  await page.route('**/cgi-bin/sync', (route) => route.abort('connectionreset'));
  await send(bob.page, 'Are you there?', 'enter');
  await page.getByText('Connecting…').first().waitFor({ timeout: 60_000 });

  const sent: string[] = [];
  const held: Route[] = [];
  await page.route('**/cgi-bin/sendmsg', async (route) => {
    sent.push((route.request().postDataJSON() as { clientMsgId: string }).clientMsgId);
    if (sent.length > 2) return route.fallback();
    // The host gets the request and commits it; the page never gets the answer.
    await route.fetch();
    if (sent.length === 1) return route.abort('connectionreset');
    held.push(route); // the second answer never comes: the client gives up after its deadline
  });
  const text = 'Sent twice, stored once';
  await send(page, text, 'enter');
  const item = messageItem(page, text);
  await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('Pending');
  await expect.poll(() => sent.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
  await expect.poll(() => item.textContent(), { timeout: 30_000 }).not.toContain('Pending');
  expect(await item.textContent()).not.toContain('Not sent');
  await page.unrouteAll({ behavior: 'ignoreErrors' });

  expect(new Set(sent).size, `clientMsgIds sent: ${sent.join(', ')}`).toBe(1);
  await messageItem(bob.page, text).waitFor({ timeout: 30_000 });
  expect(await messageItem(bob.page, text).count()).toBe(1);
  expect(await inboxCopies(host, bob, text)).toHaveLength(1);
  const own = await inboxCopies(host, alice, text);
  expect(own.map((m) => m.clientMsgId)).toEqual([sent[0]]);
  // Once sync is back, Alice gets what she missed, and still has her message once.
  await messageItem(page, 'Are you there?').waitFor({ timeout: 60_000 });
  await send(bob.page, 'Got it once', 'enter');
  await messageItem(page, 'Got it once').waitFor({ timeout: 60_000 });
  expect(await item.count()).toBe(1);
  expectClean(alice, bob);
}, 240_000);
