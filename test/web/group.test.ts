/**
 * A group in the web client: Alice creates it from her contacts, a third
 * person on a phone-sized window (one pane at a time) chats in it, and the
 * owner removes and adds a member. Display names and an avatar set in the
 * profile show for everyone.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../helpers/index.js';
import { landscapePng, portrait } from './picture.js';
import {
  becomeContacts,
  conversation,
  conversations,
  expectClean,
  launchBrowser,
  messageField,
  messageItem,
  messages,
  nav,
  openPerson,
  PHONE,
  screenshot,
  send,
  setProfile,
  signUp,
  startChatHost,
  uniqueName,
  type Person,
} from './support.js';

let browser: Browser;
let host: RunningHost;
let alice: Person;
let bob: Person;
let carol: Person;
const GROUP = 'Weekend hike';

beforeAll(async () => {
  [browser, host] = await Promise.all([launchBrowser(), startChatHost()]);
  alice = await openPerson(browser, host, uniqueName('alice'));
  bob = await openPerson(browser, host, uniqueName('bob'));
  carol = await openPerson(browser, host, uniqueName('carol'), { viewport: PHONE });
  await Promise.all([signUp(alice, host.url), signUp(bob, host.url), signUp(carol, host.url)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
});

describe('groups in the web client', { timeout: 120_000 }, () => {
  it('shows display names and avatars set in the profile', async () => {
    await setProfile(alice, 'Alice Chen', portrait('#cfe3f7', '#5b8fc9'));
    await setProfile(bob, 'Bob Martin');
    await setProfile(carol, 'Carol Díaz');
    await screenshot(carol.page, 'phone-profile');
    await becomeContacts(alice, bob);
    await becomeContacts(alice, carol);
    await screenshot(carol.page, 'phone-contacts');
    // Carol's contact list names Alice by her display name, with her picture.
    const entry = carol.page.getByRole('list', { name: 'Contact list' }).getByRole('listitem').filter({ hasText: 'Alice Chen' });
    await entry.waitFor({ timeout: 15_000 });
    await expect.poll(() => entry.locator('img').count(), { timeout: 15_000 }).toBe(1);
  });

  it('creates a group from contacts; everyone chats in it, the phone one pane at a time', async () => {
    await nav(alice.page, 'Chats').click();
    await alice.page.getByRole('button', { name: 'New group' }).click();
    const dialog = alice.page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Group name').fill(GROUP);
    await dialog.getByRole('checkbox', { name: /Bob Martin/ }).check();
    await dialog.getByRole('checkbox', { name: /Carol Díaz/ }).check();
    await screenshot(alice.page, 'desktop-new-group');
    await dialog.getByRole('button', { name: /^Create group/ }).click();
    await alice.page.getByRole('heading', { name: GROUP, level: 2 }).waitFor();
    await messageItem(alice.page, 'You created the group').waitFor({ timeout: 15_000 });
    await send(alice.page, 'Who is in for Saturday?', 'enter');

    for (const p of [bob, carol]) {
      await nav(p.page, 'Chats').click();
      await expect.poll(() => conversation(p.page, GROUP).textContent(), { timeout: 15_000 }).toContain('1 unread');
    }
    await screenshot(carol.page, 'phone-chats');
    // On a phone the list gives way to the conversation, and Back returns to it.
    await conversation(carol.page, GROUP).click();
    expect(await conversations(carol.page).isVisible()).toBe(false);
    await messageItem(carol.page, 'Who is in for Saturday?').waitFor();
    expect(await messageItem(carol.page, 'Who is in for Saturday?').textContent()).toContain('Alice Chen');
    await send(carol.page, 'Me! I will bring snacks', 'enter');
    await conversation(bob.page, GROUP).click();
    await send(bob.page, 'Count me in too', 'button');
    for (const p of [alice, bob, carol]) await messageItem(p.page, 'Count me in too').waitFor({ timeout: 15_000 });
    await messageItem(alice.page, 'Me! I will bring snacks').waitFor();
    // Sender names over others' messages in a group.
    expect(await messageItem(alice.page, 'Me! I will bring snacks').textContent()).toContain('Carol Díaz');
    await screenshot(carol.page, 'phone-chat');
    await carol.page.getByRole('link', { name: 'Back' }).click();
    await conversations(carol.page).waitFor();
  });

  it('lets the owner remove a member and add them back', async () => {
    await alice.page.getByRole('button', { name: 'Group info' }).click();
    const members = alice.page.getByRole('list', { name: 'Members' });
    await expect.poll(() => members.getByRole('listitem').count(), { timeout: 15_000 }).toBe(3);
    await screenshot(alice.page, 'desktop-group-info');
    await members.getByRole('button', { name: 'Remove Bob Martin' }).click();
    await expect.poll(() => members.getByRole('listitem').count(), { timeout: 15_000 }).toBe(2);
    await messageItem(bob.page, 'Alice Chen removed you').waitFor({ timeout: 15_000 });
    await bob.page.getByText('You are no longer a member of this group.').waitFor({ timeout: 15_000 });
    expect(await messageField(bob.page).count()).toBe(0);

    await alice.page.getByRole('button', { name: 'Add members' }).click();
    const picker = alice.page.getByRole('dialog', { name: 'Add members' });
    await picker.getByRole('checkbox', { name: /Bob Martin/ }).check();
    await picker.getByRole('button', { name: /^Add/ }).click();
    await expect.poll(() => members.getByRole('listitem').count(), { timeout: 15_000 }).toBe(3);
    await messageField(bob.page).waitFor({ timeout: 15_000 });
    await send(bob.page, 'Thanks for adding me back', 'enter');
    await conversation(carol.page, GROUP).click();
    await messageItem(carol.page, 'Thanks for adding me back').waitFor({ timeout: 15_000 });
  });

  it('shows a picture sent from the phone to the group, with its sender named', async () => {
    await alice.page.getByRole('button', { name: 'Close details' }).click();
    await carol.page
      .getByLabel('Attach', { exact: true })
      .setInputFiles({ name: 'view.png', mimeType: 'image/png', buffer: landscapePng() });
    await send(carol.page, 'The view from the top last time 🏔️', 'enter');
    const picture = messages(alice.page).getByRole('img', { name: 'Picture' }).last();
    await expect.poll(() => picture.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 15_000 }).toBe(480);
    await messageItem(alice.page, 'The view from the top').waitFor({ timeout: 15_000 });
    await send(alice.page, 'Wow! Saturday it is 🥾', 'enter');
    await screenshot(alice.page, 'desktop-group');
    await screenshot(carol.page, 'phone-group-picture');
  });

  it('had no console errors, and made no request outside the host', () => {
    expectClean(alice, bob, carol);
  });
});
