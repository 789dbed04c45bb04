/**
 * Two people in two browser contexts use the web client (SPEC §7) against a
 * real host: they sign up, become contacts, chat live both ways with unread
 * badges and "Read", send a picture and a voice message and play them,
 * recall a message, and reload without losing the session or the history.
 * No console errors, no request outside the host.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../helpers/index.js';
import { landscapePng, portrait } from './picture.js';
import {
  becomeContacts,
  conversation,
  DESKTOP,
  expectClean,
  launchBrowser,
  messageField,
  messageItem,
  messages,
  nav,
  openPerson,
  PHONE,
  recordMp4,
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
// Display names: the conversation list and notices show them, not the usernames.
const ALICE = 'Alice Chen';
const BOB = 'Bob Martin';

beforeAll(async () => {
  [browser, host] = await Promise.all([launchBrowser(), startChatHost()]);
  alice = await openPerson(browser, host, uniqueName('alice'));
  bob = await openPerson(browser, host, uniqueName('bob'));
  await screenshotSignIn();
  await Promise.all([signUp(alice, host.url), signUp(bob, host.url)]);
  await Promise.all([setProfile(alice, ALICE, portrait('#f6d2b0', '#d9785e')), setProfile(bob, BOB)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([browser?.close(), host?.kill()]);
});

async function screenshotSignIn() {
  for (const [name, viewport] of [
    ['desktop-sign-in', DESKTOP],
    ['phone-sign-in', PHONE],
  ] as const) {
    const p = await browser.newPage({ viewport });
    await p.goto(host.url);
    await p.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await screenshot(p, name);
    await p.close();
  }
}

describe('the web client, two people', { timeout: 120_000 }, () => {
  it('becomes contacts, then chats live both ways with unread badges and "Read"', async () => {
    await becomeContacts(alice, bob);
    await nav(alice.page, 'Chats').click();
    await conversation(alice.page, BOB).click();
    await send(alice.page, 'Hello Bob', 'button');
    await send(alice.page, 'Are you free for lunch tomorrow?', 'enter');
    await expect.poll(() => messageField(alice.page).inputValue()).toBe('');

    // Bob is on his contacts: the conversation list shows both as unread.
    await nav(bob.page, 'Chats').click();
    await expect.poll(() => conversation(bob.page, ALICE).textContent(), { timeout: 15_000 }).toContain('2 unread');
    await expect.poll(() => messageItem(alice.page, 'Are you free').textContent()).toContain('Sent');
    expect(await messageItem(alice.page, 'Are you free').textContent()).not.toContain('Read');
    await screenshot(bob.page, 'desktop-chats-unread');

    await conversation(bob.page, ALICE).click();
    await messageItem(bob.page, 'Hello Bob').waitFor();
    await messageItem(bob.page, 'Are you free for lunch tomorrow?').waitFor();
    await expect.poll(() => conversation(bob.page, ALICE).textContent()).not.toContain('unread');
    // Bob has read them: Alice sees "Read" under her messages, live.
    await expect.poll(() => messageItem(alice.page, 'Are you free').textContent(), { timeout: 15_000 }).toContain('Read');

    await send(bob.page, 'Sure! Noon at the usual place?', 'enter');
    await messageItem(alice.page, 'Noon at the usual place').waitFor({ timeout: 15_000 });
    // Alice has the conversation open: nothing is unread for her.
    await expect.poll(() => conversation(alice.page, BOB).textContent()).not.toContain('unread');
    await send(alice.page, 'Perfect, see you there', 'enter');
    await messageItem(bob.page, 'Perfect, see you there').waitFor({ timeout: 15_000 });
    // Newest first in the list, and the newest message in its preview.
    await expect.poll(() => conversation(bob.page, ALICE).textContent()).toContain('Perfect, see you there');
  });

  it('marks a message read when the conversation list brings it before sync does', async () => {
    // After a reconnect the client asks for the conversation list while its next sync is out. When the list's answer
    // already counts a message the sync then brings, the message is not "new" to the sync any more: it must still be
    // marked read in the open conversation (a host restart showed "Sent" for good where "Read" was due).
    await send(alice.page, 'First of two', 'enter');
    await messageItem(bob.page, 'First of two').waitFor({ timeout: 15_000 });
    let listAsked!: () => void;
    const asked = new Promise<void>((r) => (listAsked = r));
    let listApplied!: () => void;
    const applied = new Promise<void>((r) => (listApplied = r));
    let sent!: () => void;
    const aliceSent = new Promise<void>((r) => (sent = r));
    let syncs = 0;
    let listing = false;
    await bob.page.route('**/cgi-bin/sync', async (route) => {
      // The first poll fails (the client reconnects after it); polls made once the list is asked for wait for its answer.
      if (syncs++ === 0) return route.abort('connectionreset');
      if (!listing) return route.fallback();
      const answer = await route.fetch();
      await applied;
      await route.fulfill({ response: answer });
    });
    await bob.page.route('**/cgi-bin/getconversations', async (route) => {
      listing = true;
      listAsked();
      await aliceSent;
      const answer = await route.fetch();
      await route.fulfill({ response: answer });
      setTimeout(listApplied, 300);
    });
    // Bob's held poll ends with this message; the next one is refused, and the one after it reconnects.
    await send(alice.page, 'Wakes Bob up', 'enter');
    await asked;
    await send(alice.page, 'Second of two', 'enter');
    await expect.poll(() => messageItem(alice.page, 'Second of two').textContent(), { timeout: 15_000 }).toContain('Sent');
    sent();
    await messageItem(bob.page, 'Second of two').waitFor({ timeout: 15_000 });
    await expect.poll(() => messageItem(alice.page, 'Second of two').textContent(), { timeout: 15_000 }).toContain('Read');
    await expect.poll(() => conversation(bob.page, ALICE).textContent()).not.toContain('unread');
    await bob.page.unrouteAll({ behavior: 'ignoreErrors' });
    // The refused poll's console error is this test's doing.
    const refused = /ERR_CONNECTION_RESET.*\/cgi-bin\/sync/;
    bob.errors.splice(0, bob.errors.length, ...bob.errors.filter((e) => !refused.test(e)));
  });

  it('sends a picture that both see inline, and opens it full size', async () => {
    await alice.page
      .getByLabel('Attach', { exact: true })
      .setInputFiles({ name: 'hills.png', mimeType: 'image/png', buffer: landscapePng() });
    for (const p of [alice, bob]) {
      const img = messages(p.page).getByRole('img', { name: 'Picture' }).last();
      await img.waitFor({ timeout: 15_000 });
      await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 15_000 }).toBe(480);
    }
    await messages(bob.page).getByRole('button', { name: 'Open picture' }).last().click();
    const dialog = bob.page.getByRole('dialog', { name: 'Picture' });
    await expect.poll(() => dialog.getByRole('img').evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(480);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
  });

  it('records a voice message, sends it, and both play it with its duration', async () => {
    await bob.page.getByRole('button', { name: 'Record voice', exact: true }).click();
    // The fake microphone records until Send; at least two seconds of it.
    await expect.poll(() => bob.page.getByText(/^Recording 0:0[2-9]$/).count(), { timeout: 15_000 }).toBe(1);
    await bob.page.getByRole('button', { name: 'Send voice', exact: true }).click();
    for (const p of [bob, alice]) {
      // The clip's own button, found once: its name turns to "Pause voice clip" while it plays, so a locator by name
      // would then find another button (or none).
      const clip = messages(p.page).locator('.voice-clip').last();
      const play = clip.locator('button.voice-play');
      await expect.poll(() => play.getAttribute('aria-label'), { timeout: 15_000 }).toMatch(/^Play voice clip, \d+ seconds?$/);
      const seconds = Number(/(\d+) second/.exec((await play.getAttribute('aria-label'))!)![1]);
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect(await clip.textContent()).toMatch(/0:0\d/);
      await play.click();
      // It plays (the browser reached its data and moved through it).
      const states = () =>
        messages(p.page)
          .locator('button.voice-play')
          .evaluateAll((bs) => bs.map((b) => b.getAttribute('data-state')));
      await expect
        .poll(() => play.getAttribute('data-state'), { timeout: 15_000, message: `${p.name}'s clips` })
        .toMatch(/^(playing|ended)$/)
        .catch(async (e: Error) => {
          throw new Error(`${e.message}; every clip's state: ${JSON.stringify(await states())}`);
        });
      await expect
        .poll(() => play.locator('xpath=../audio').evaluate((a: HTMLAudioElement) => a.currentTime > 0 || a.ended), { timeout: 15_000 })
        .toBe(true);
    }
    await expect.poll(() => conversation(alice.page, BOB).textContent()).toContain('Voice message');
    await screenshot(alice.page, 'desktop-chat');
  });

  it('sends a video that both play', async () => {
    const mp4 = await recordMp4(bob.page);
    expect(mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');
    await bob.page.getByLabel('Attach', { exact: true }).setInputFiles({ name: 'clip.mp4', mimeType: 'video/mp4', buffer: mp4 });
    for (const p of [alice, bob]) {
      const poster = messages(p.page).getByRole('button', { name: 'Play video' }).last();
      await poster.click({ timeout: 15_000 });
      const video = messages(p.page).locator('video').last();
      await video.waitFor({ timeout: 15_000 });
      await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 15_000 }).toBe(320);
      await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime > 0 || v.ended), { timeout: 15_000 }).toBe(true);
    }
    await expect.poll(() => conversation(alice.page, BOB).textContent()).toContain('Video');
  });

  it('recalls a message: it is gone for both', async () => {
    await send(alice.page, 'Oops, that was meant for someone else', 'enter');
    await messageItem(bob.page, 'Oops, that was meant').waitFor({ timeout: 15_000 });
    const item = messageItem(alice.page, 'Oops, that was meant');
    await item.hover();
    await item.getByRole('button', { name: 'More actions' }).click();
    await alice.page.getByRole('menuitem', { name: 'Recall' }).click();
    await messageItem(alice.page, 'You recalled a message').waitFor();
    await messageItem(bob.page, `${ALICE} recalled a message`).waitFor({ timeout: 15_000 });
    expect(await messageItem(bob.page, 'Oops, that was meant').count()).toBe(0);
    expect(await messageItem(alice.page, 'Oops, that was meant').count()).toBe(0);
  });

  it('keeps the session and the history across a reload', async () => {
    for (const p of [bob, alice]) {
      await p.page.reload();
      // Straight back into the conversation, signed in, without the sign-in screen.
      await messageItem(p.page, 'Hello Bob').waitFor({ timeout: 15_000 });
      expect(await p.page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
      await messageItem(p.page, 'Perfect, see you there').waitFor();
      await messageItem(p.page, `${p === alice ? 'You' : ALICE} recalled a message`).waitFor();
      await messages(p.page).getByRole('img', { name: 'Picture' }).last().waitFor();
    }
    // The read receipt too: "Read" under Alice's messages after her reload.
    await expect.poll(() => messageItem(alice.page, 'Are you free').textContent()).toContain('Read');
    // And the list, from a fresh navigation to `/`.
    await bob.page.goto(host.url);
    await expect.poll(() => conversation(bob.page, ALICE).count()).toBe(1);
    // Messages keep flowing after the reload.
    await send(alice.page, 'Still here after the reload', 'enter');
    await conversation(bob.page, ALICE).click();
    await messageItem(bob.page, 'Still here after the reload').waitFor({ timeout: 15_000 });
  });

  it('had no console errors, and made no request outside the host', () => {
    expectClean(alice, bob);
  });
});
