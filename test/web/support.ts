/**
 * The web client's browser tests: Debian's Chromium driven by playwright-core
 * against a real host (dist/cli.js serving ./cgis), one browser context per
 * person. Every context records its console errors and any request that
 * would leave the host (aborted), and the tests check both stay empty.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { PASSWORD, ROOT, startHost, type RunningHost, type StartOptions } from '../helpers/index.js';

export { PASSWORD, uniqueName } from '../helpers/index.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
/** Screenshots of the main screens, for people to look at (git-ignored). */
export const SHOTS = join(ROOT, 'test', '.tmp', 'web-screenshots');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      // A fake microphone for MediaRecorder, allowed without a prompt.
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // Two people side by side in one browser: neither page is throttled as hidden.
      '--disable-renderer-backgrounding',
      '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

/** The built-in CGIs of this repository, on a temp data dir, not watched. */
export function startChatHost(opts: StartOptions = {}): Promise<RunningHost> {
  // A browser and several hosts share two cores with the other test files: starting may take a while.
  return startHost({ cgisDir: join(ROOT, 'cgis'), config: { watch: false }, startTimeoutMs: 60_000, ...opts });
}

export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Requests to anywhere but the host (aborted). */
  outside: string[];
}

export async function openPerson(
  browser: Browser,
  host: { url: string },
  name: string,
  opts: { viewport?: { width: number; height: number }; allowErrors?: RegExp } = {},
): Promise<Person> {
  const context = await browser.newContext({ viewport: opts.viewport ?? DESKTOP, permissions: ['microphone'] });
  const person: Person = { name, context, page: await context.newPage(), errors: [], outside: [] };
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    // A test's own page.route may have answered the request already, or the page closed under it: then there is
    // nothing left to pass on, and playwright's "Route is already handled" is not the test's failure.
    const settled = (e: Error) => {
      if (!/already handled|closed/i.test(e.message)) throw e;
    };
    if (url.startsWith(`${host.url}/`)) return route.continue().catch(settled);
    person.outside.push(url);
    return route.abort().catch(settled);
  });
  const record = (text: string) => {
    if (!opts.allowErrors?.test(text)) person.errors.push(text);
  };
  person.page.on('console', (m) => m.type() === 'error' && record(`${m.text()} (${m.location().url})`));
  person.page.on('pageerror', (e) => record(`uncaught: ${e.message}`));
  return person;
}

/** Creates the account through the sign-in screen; resolves once the chat shell shows. */
export async function signUp(p: Person, url: string): Promise<void> {
  await p.page.goto(url);
  await p.page.getByLabel('Username').fill(p.name);
  await p.page.getByLabel('Password').fill(PASSWORD);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await nav(p.page, 'Chats').waitFor();
}

export const nav = (page: Page, name: 'Chats' | 'Contacts') => page.getByRole('navigation').getByRole('link', { name, exact: true });
export const messageField = (page: Page) => page.getByRole('textbox', { name: 'Message', exact: true });
export const conversations = (page: Page) => page.getByRole('list', { name: 'Conversations', exact: true });
export const conversation = (page: Page, name: string) => conversations(page).getByRole('listitem', { name, exact: true });
export const messages = (page: Page) => page.getByRole('list', { name: 'Messages', exact: true });
export const messageItem = (page: Page, text: string) => messages(page).getByRole('listitem').filter({ hasText: text });

export async function send(page: Page, text: string, how: 'enter' | 'button' = 'button'): Promise<void> {
  await messageField(page).fill(text);
  if (how === 'enter') await messageField(page).press('Enter');
  else await page.getByRole('button', { name: 'Send', exact: true }).click();
}

/** a asks b to be a contact (Find user, Add contact); b accepts. */
export async function becomeContacts(a: Person, b: Person): Promise<void> {
  await nav(a.page, 'Contacts').click();
  await a.page.getByLabel('Find user', { exact: true }).fill(b.name);
  await a.page.getByLabel('Find user', { exact: true }).press('Enter');
  await a.page.getByRole('button', { name: 'Add contact', exact: true }).click();
  await expect.poll(() => a.page.getByText('Request sent', { exact: true }).count()).toBe(1);
  await nav(b.page, 'Contacts').click();
  await b.page.getByRole('button', { name: 'Accept', exact: true }).click();
  await b.page.getByRole('list', { name: 'Contact list' }).getByText(a.name).first().waitFor();
  await a.page.getByRole('list', { name: 'Contact list' }).getByText(b.name).first().waitFor();
}

/** Sets the display name (and a picture) on the Profile screen. */
export async function setProfile(p: Person, displayName: string, avatar?: Buffer): Promise<void> {
  await p.page.getByRole('link', { name: 'Profile' }).click();
  if (avatar) {
    await p.page.getByLabel('Change photo').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: avatar });
    await p.page.locator('.avatar-edit img').waitFor({ timeout: 15_000 });
  }
  await p.page.getByLabel('Display name').fill(displayName);
  await p.page.getByRole('button', { name: 'Save', exact: true }).click();
  await p.page.getByRole('heading', { name: displayName }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  // Let fonts, pictures and transitions settle.
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

export function expectClean(...people: Person[]): void {
  for (const p of people) {
    expect(p.errors, `${p.name}: console errors`).toEqual([]);
    expect(p.outside, `${p.name}: requests outside the host`).toEqual([]);
  }
}

/** A short real MP4 (H.264), recorded from a canvas by the browser itself: the tests need no video file or encoder. */
export async function recordMp4(page: Page, ms = 1500): Promise<Buffer> {
  const base64 = await page.evaluate(async (duration) => {
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 240;
    const g = canvas.getContext('2d')!;
    let frame = 0;
    const draw = setInterval(() => {
      g.fillStyle = `hsl(${(frame * 12) % 360} 70% 50%)`;
      g.fillRect(0, 0, 320, 240);
      g.fillStyle = '#fff';
      g.font = '48px sans-serif';
      g.fillText(String(frame++), 130, 140);
    }, 40);
    const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: 'video/mp4;codecs=avc1.42E01E' });
    const chunks: Blob[] = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((r) => (recorder.onstop = r));
    recorder.start();
    await new Promise((r) => setTimeout(r, duration));
    recorder.stop();
    await stopped;
    clearInterval(draw);
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, ms);
  return Buffer.from(base64, 'base64');
}
