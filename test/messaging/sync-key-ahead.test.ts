/**
 * SPEC §10 Limits: a `sync` whose syncKey is past the inbox's last seq (a
 * client that was ahead of a restored backup) gets 409 SYNC_KEY_AHEAD with
 * details.lastSeq at once, never a hang; answering it an empty page would make
 * the client skip every entry up to its key.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectError, newUsers, ROOT, startHost, type RunningHost, type User } from '../helpers/index.js';
import { sendText, sync } from './client.js';

let h: RunningHost;
let a: User;
let b: User;
beforeAll(async () => {
  h = await startHost({ cgisDir: join(ROOT, 'cgis') });
  [a, b] = (await newUsers(h, 2, 'ahead')) as [User, User];
  // b's inbox ends at seq 3.
  for (const text of ['one', 'two', 'three']) await sendText(h, a, b, text);
});
afterAll(async () => {
  await h?.stop();
});

it('answers 409 SYNC_KEY_AHEAD with details.lastSeq for a key past the last seq', async () => {
  const r = await sync(h, b, { syncKey: 100 });
  expectError(r, 409, 'SYNC_KEY_AHEAD');
  expect(r.body.error.details).toEqual({ lastSeq: 3 });
});

it('answers a long-poll with a key past the end at once, not after its timeoutMs', async () => {
  const t0 = performance.now();
  const r = await sync(h, b, { syncKey: 4, timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  expectError(r, 409, 'SYNC_KEY_AHEAD');
  expect(r.body.error.details).toEqual({ lastSeq: 3 });
  // A held poll would take the full 30 s; anything well short of it was answered without holding.
  expect(ms).toBeLessThan(15_000);
});

it('says so for an empty inbox too (lastSeq 0), and syncKey 0 stays valid there', async () => {
  const [fresh] = await newUsers(h, 1, 'ahead0');
  const ahead = await sync(h, fresh!, { syncKey: 1 });
  expectError(ahead, 409, 'SYNC_KEY_AHEAD');
  expect(ahead.body.error.details).toEqual({ lastSeq: 0 });
  const zero = await sync(h, fresh!, { syncKey: 0 });
  expect(zero.status, zero.text).toBe(200);
  expect(zero.body).toEqual({ messages: [], syncKey: 0, continueFlag: false });
});

it('holds a long-poll at exactly the last seq, as before, and wakes it with the next entry', async () => {
  const held = sync(h, b, { syncKey: 3, timeoutMs: 20_000 });
  // Whether it was held yet or not, the answer must be the next entry.
  const ack = await sendText(h, a, b, 'four');
  const r = await held;
  expect(r.status, r.text).toBe(200);
  expect(r.body.messages.map((m: { seq: number; msgId: string }) => [m.seq, m.msgId])).toEqual([[4, ack.msgId]]);
  expect(r.body.syncKey).toBe(4);
});

it('lets a client that was told lastSeq resume from it and miss nothing after', async () => {
  const told = await sync(h, a, { syncKey: 1_000 });
  expectError(told, 409, 'SYNC_KEY_AHEAD');
  const lastSeq = told.body.error.details.lastSeq as number;
  const ack = await sendText(h, b, a, 'after the restore');
  const r = await sync(h, a, { syncKey: lastSeq });
  expect(r.status, r.text).toBe(200);
  expect(r.body.messages.map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([[ack.seq, 'after the restore']]);
});
