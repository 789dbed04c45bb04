/**
 * Contacts and search in the web client (SPEC §6 through §7): declining a
 * request, blocking and unblocking, removing a contact, and finding an old
 * message by a word in it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../helpers/index.js';
import {
  becomeContacts,
  conversation,
  expectClean,
  launchBrowser,
  messageItem,
  nav,
  openPerson,
  screenshot,
  send,
  signUp,
  startChatHost,
  uniqueName,
  type Person,
} from './support.js';

let browser: Browser;
let host: RunningHost;
let alice: Person;
let bob: Person;
let dave: Person;

beforeAll(async () => {
  [browser, host] = await Promise.all([launchBrowser(), startChatHost()]);
  alice = await openPerson(browser, host, uniqueName('alice'));
  bob = await openPerson(browser, host, uniqueName('bob'));
  dave = await openPerson(browser, host, uniqueName('dave'));
  await Promise.all([signUp(alice, host.url), signUp(bob, host.url), signUp(dave, host.url)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
});

describe('contacts and search', { timeout: 120_000 }, () => {
  it('says so when no one has that username', async () => {
    await nav(alice.page, 'Contacts').click();
    await alice.page.getByLabel('Find user', { exact: true }).fill('nobody_has_this_name');
    await alice.page.getByRole('button', { name: 'Find', exact: true }).click();
    await alice.page.getByText('No one is called “nobody_has_this_name”.').waitFor();
  });

  it('declines a request: it is gone, and no contact is made', async () => {
    await nav(dave.page, 'Contacts').click();
    await dave.page.getByLabel('Find user', { exact: true }).fill(alice.name);
    await dave.page.getByLabel('Find user', { exact: true }).press('Enter');
    await dave.page.getByLabel('Greeting').fill('Hi Alice, we met at the meetup');
    await dave.page.getByRole('button', { name: 'Add contact', exact: true }).click();
    const requests = alice.page.getByRole('list', { name: 'Contact requests' });
    await requests.getByText('Hi Alice, we met at the meetup').waitFor({ timeout: 15_000 });
    await screenshot(alice.page, 'desktop-contacts');
    await requests.getByRole('button', { name: 'Decline', exact: true }).click();
    await expect.poll(() => requests.count(), { timeout: 15_000 }).toBe(0);
    expect(await alice.page.getByRole('list', { name: 'Contact list' }).getByText(dave.name).count()).toBe(0);
  });

  it('blocks a person: their messages are refused until unblocked', async () => {
    await becomeContacts(alice, bob);
    await nav(bob.page, 'Chats').click();
    await conversation(bob.page, alice.name).click();
    await send(bob.page, 'Before the block', 'enter');

    await nav(alice.page, 'Contacts').click();
    await alice.page.getByRole('list', { name: 'Contact list' }).getByRole('link').filter({ hasText: bob.name }).click();
    await alice.page.getByRole('button', { name: 'Block', exact: true }).click();
    await alice.page.getByRole('button', { name: 'Block', exact: true }).click(); // the confirmation
    await alice.page.getByRole('list', { name: 'Blocked users' }).getByText(bob.name).waitFor({ timeout: 15_000 });

    await send(bob.page, 'Can you hear me?', 'enter');
    const refused = messageItem(bob.page, 'Can you hear me?');
    await expect.poll(() => refused.textContent(), { timeout: 15_000 }).toContain('Not sent');
    expect(await refused.textContent()).toContain('not accepting your messages');

    await alice.page.getByRole('list', { name: 'Blocked users' }).getByRole('button', { name: 'Unblock' }).click();
    await expect.poll(() => alice.page.getByRole('list', { name: 'Blocked users' }).count(), { timeout: 15_000 }).toBe(0);
    // The refused message can be retried now: the same clientMsgId, accepted this time.
    await refused.hover();
    await refused.getByRole('button', { name: 'More actions' }).click();
    await bob.page.getByRole('menuitem', { name: 'Retry' }).click();
    await expect.poll(() => refused.textContent(), { timeout: 15_000 }).not.toContain('Not sent');
    await nav(alice.page, 'Chats').click();
    await conversation(alice.page, bob.name).click();
    await messageItem(alice.page, 'Can you hear me?').waitFor({ timeout: 15_000 });
  });

  it('finds a message by a word in it and opens the conversation at it', async () => {
    await send(alice.page, 'The password for the wifi is on the fridge', 'enter');
    for (let i = 0; i < 5; i++) await send(alice.page, `filler message ${i}`, 'enter');
    await messageItem(bob.page, 'filler message 4').waitFor({ timeout: 15_000 });
    await nav(bob.page, 'Chats').click();
    await bob.page.getByRole('searchbox', { name: 'Search' }).fill('FRIDGE');
    const results = bob.page.getByRole('list', { name: 'Search results' });
    await results.getByRole('link').first().waitFor();
    await screenshot(bob.page, 'desktop-search');
    await results.getByRole('link').filter({ hasText: 'wifi is on the' }).click();
    await messageItem(bob.page, 'The password for the wifi is on the fridge').waitFor();
    await expect.poll(() => bob.page.locator('.msg.focused').count()).toBe(1);
  });

  it('removes a contact from the list', async () => {
    await nav(alice.page, 'Contacts').click();
    await alice.page.getByRole('list', { name: 'Contact list' }).getByRole('link').filter({ hasText: bob.name }).click();
    await alice.page.getByRole('button', { name: 'Remove contact' }).click();
    await alice.page.getByRole('button', { name: 'Remove', exact: true }).click();
    await expect
      .poll(() => alice.page.getByRole('list', { name: 'Contact list' }).getByText(bob.name).count(), { timeout: 15_000 })
      .toBe(0);
  });

  it('had no console errors, and made no request outside the host', () => {
    // The browser logs every 4xx answer as a failed resource: the two this file asks for (an unknown
    // username, Bob's send while blocked) are expected; any other error is not.
    alice.errors = alice.errors.filter((e) => !/status of 404 .*\/cgi-bin\/finduser\)$/.test(e));
    bob.errors = bob.errors.filter((e) => !/status of 403 .*\/cgi-bin\/sendmsg\)$/.test(e));
    expectClean(alice, bob, dave);
  });
});
