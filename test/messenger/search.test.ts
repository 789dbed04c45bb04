/**
 * searchmsgs over the real host (SPEC §6 Search): substrings in Latin
 * (case-insensitive), Chinese, Japanese and emoji, queries of one and two
 * characters as well as longer ones, newest first, limits, one conversation,
 * only the caller's own entries, and never a recalled message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, expectError, newUsers, type User } from '../helpers/index.js';
import { createGroup, inbox, sendGroupText, sendText } from '../messaging/client.js';
import { call, CGIS_DIR, ok, search } from './support.js';

let h: RunningHost;
let a: User;
let b: User;
let c: User;
let groupId: string;
const TEXTS = [
  '你好吗？',
  'Hello World, meet me at 5',
  '今天天气很好 ☀️',
  'こんにちは、元気ですか',
  'party 🎉🎉 tonight 👍🏽',
  'École de musique',
  'ok',
  'a "quoted" NEAR(thing) AND * OR -not',
  'hello again',
];
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: { watch: false } });
});
beforeAll(async () => {
  [a, b, c] = (await newUsers(h, 3, 'se')) as [User, User, User];
  for (const [i, t] of TEXTS.entries()) await sendText(h, i % 2 ? b : a, i % 2 ? a : b, t);
  ({ groupId } = await createGroup(h, a, [b, c], 'search group'));
  await sendGroupText(h, c, groupId, 'hello from the group 你好');
  await waitFor(async () => (await inbox(h, a)).some((m) => m.content === 'hello from the group 你好'));
});
afterAll(async () => {
  await h?.stop();
});

const found = async (u: User, query: string, extra: Record<string, unknown> = {}) =>
  (await search(h, u, { query, ...extra })).map((m) => m.content);

describe('searchmsgs', () => {
  it('finds Chinese and Japanese as substrings, one and two characters as well as longer', async () => {
    expect(await found(b, '你好')).toEqual(['hello from the group 你好', '你好吗？']);
    expect(await found(b, '你好吗')).toEqual(['你好吗？']);
    expect(await found(b, '好')).toEqual(['hello from the group 你好', '今天天气很好 ☀️', '你好吗？']);
    expect(await found(b, '天气')).toEqual(['今天天气很好 ☀️']);
    expect(await found(b, '天天')).toEqual(['今天天气很好 ☀️']);
    expect(await found(b, 'にち')).toEqual(['こんにちは、元気ですか']);
    expect(await found(b, '元気ですか')).toEqual(['こんにちは、元気ですか']);
    expect(await found(b, '吗吗')).toEqual([]);
  });

  it('finds emoji, alone, in pairs, with modifiers and in longer queries', async () => {
    expect(await found(a, '🎉')).toEqual(['party 🎉🎉 tonight 👍🏽']);
    expect(await found(a, '🎉🎉')).toEqual(['party 🎉🎉 tonight 👍🏽']);
    expect(await found(a, '👍🏽')).toEqual(['party 🎉🎉 tonight 👍🏽']);
    expect(await found(a, '🎉 tonight')).toEqual(['party 🎉🎉 tonight 👍🏽']);
    expect(await found(a, '☀️')).toEqual(['今天天气很好 ☀️']);
    expect(await found(a, '😀')).toEqual([]);
  });

  it('ignores case for Latin letters, with accents too, for short and long queries', async () => {
    expect(await found(a, 'HELLO')).toEqual(['hello from the group 你好', 'hello again', 'Hello World, meet me at 5']);
    expect(await found(a, 'wORLD')).toEqual(['Hello World, meet me at 5']);
    expect(await found(a, 'OK')).toEqual(['ok']);
    expect(await found(a, 'é')).toEqual(['École de musique']);
    expect(await found(a, 'école')).toEqual(['École de musique']);
    expect(await found(a, 'z')).toEqual([]);
    expect(await found(a, '5')).toEqual(['Hello World, meet me at 5']);
  });

  it('takes query syntax characters literally', async () => {
    expect(await found(a, '"quoted"')).toEqual(['a "quoted" NEAR(thing) AND * OR -not']);
    expect(await found(a, 'NEAR(')).toEqual(['a "quoted" NEAR(thing) AND * OR -not']);
    expect(await found(a, '*')).toEqual(['a "quoted" NEAR(thing) AND * OR -not']);
    expect(await found(a, '" OR "')).toEqual([]);
    expect(await found(a, 'AND * OR -not')).toEqual(['a "quoted" NEAR(thing) AND * OR -not']);
  });

  it('answers newest first, at most `limit` (default 20, 1..100), shaped as sync shows the entries', async () => {
    const all = await search(h, a, { query: 'e' });
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(all.map((m) => m.seq)).toEqual([...all.map((m) => m.seq)].sort((x, y) => y - x));
    const mine = await inbox(h, a);
    for (const m of all) expect(m).toEqual(mine.find((x) => x.msgId === m.msgId));
    expect((await search(h, a, { query: 'e', limit: 2 })).map((m) => m.msgId)).toEqual(all.slice(0, 2).map((m) => m.msgId));
    expectError(await call(h, a, 'searchmsgs', { query: 'e', limit: 0 }), 400, 'INVALID_INPUT');
    expectError(await call(h, a, 'searchmsgs', { query: 'e', limit: 101 }), 400, 'INVALID_INPUT');
  });

  it('searches one conversation when peer or groupId is given', async () => {
    expect(await found(a, 'hello', { groupId })).toEqual(['hello from the group 你好']);
    expect(await found(a, 'hello', { peer: b.uid })).toEqual(['hello again', 'Hello World, meet me at 5']);
    expect(await found(a, 'hello', { peer: c.uid })).toEqual([]);
    expectError(await call(h, a, 'searchmsgs', { query: 'x', peer: b.uid, groupId }), 400, 'INVALID_INPUT');
    expectError(await call(h, a, 'searchmsgs', { query: 'x', peer: 'u0000000000000000' }), 404, 'NO_SUCH_USER');
    expectError(await call(h, a, 'searchmsgs', { query: 'x', groupId: 'g0000000000000000' }), 404, 'NO_SUCH_GROUP');
  });

  it("finds only the caller's own entries: not others' chats, not a group's past before joining", async () => {
    expect(await found(c, 'hello')).toEqual(['hello from the group 你好']);
    expect(await found(c, '你好吗')).toEqual([]);
    const [d] = await newUsers(h, 1, 'se');
    await ok(h, a, 'addgroupmember', { groupId, members: [d!.uid] });
    expect(await found(d!, 'hello')).toEqual([]);
  });

  it('finds text only, and never a recalled message', async () => {
    const m = await sendText(h, a, b, 'secret plan 秘密');
    expect(await found(b, '秘密')).toEqual(['secret plan 秘密']);
    expect((await call(h, a, 'recallmsg', { msgId: m.msgId })).status).toBe(200);
    for (const q of ['秘密', '秘', 'secret', 'plan 秘']) expect(await found(b, q)).toEqual([]);
  });

  it('takes 1 to 100 code points (400 otherwise) and needs a token', async () => {
    expectError(await call(h, a, 'searchmsgs', { query: '' }), 400, 'INVALID_INPUT');
    expectError(await call(h, a, 'searchmsgs', { query: 'x'.repeat(101) }), 400, 'INVALID_INPUT');
    expectError(await call(h, a, 'searchmsgs', { query: '\ud800' }), 400, 'INVALID_INPUT');
    expectError(await call(h, a, 'searchmsgs', {}), 400, 'INVALID_INPUT');
    expect((await call(h, a, 'searchmsgs', { query: '😀'.repeat(100) })).status).toBe(200);
    expectError(await h.post('searchmsgs', { query: 'x' }), 401, 'UNAUTHENTICATED');
  });
});
