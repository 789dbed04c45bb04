/**
 * Conversations, unread counts, read positions and receipts over the real host
 * (SPEC §6): the list's order and shape, what counts as unread, markread and
 * its `read` and `receipt` entries, and two devices of one user agreeing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, expectError, login, newUsers, type User } from '../helpers/index.js';
import { createGroup, inbox, sendGroupText, sendText, sync } from '../messaging/client.js';
import { call, CGIS_DIR, conversation, conversations, markRead, ok } from './support.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: { watch: false } });
});
afterAll(async () => {
  await h?.stop();
});

/** Waits until the fan-out has given `u` at least `n` entries. */
const entries = async (u: User, n: number) =>
  (await waitFor(async () => {
    const all = await inbox(h, u);
    return all.length >= n ? all : undefined;
  }))!;

describe('getconversations', () => {
  it('lists conversations newest activity first, named, with the last entry shaped as in sync, lastSeq, readSeq and unread', async () => {
    const [a, b, c] = await newUsers(h, 3, 'cv');
    await ok(h, b!, 'setprofile', { displayName: 'Bea' });
    const toB = await sendText(h, a!, b!, 'hello Bea', 'cmid-1');
    const { groupId } = await createGroup(h, c!, [a!, b!], 'Trio 🎈');
    await sendText(h, c!, a!, 'from c');
    await sendGroupText(h, b!, groupId, 'in the group');
    await sendText(h, b!, a!, 'reply from Bea');
    const all = await entries(a!, 5);
    const list = await conversations(h, a!);
    expect(list.map((x) => x.peer ?? x.groupId)).toEqual([b!.uid, groupId, c!.uid]);
    const last = all[all.length - 1]!;
    expect(list[0]).toEqual({ peer: b!.uid, name: 'Bea', lastMessage: last, lastSeq: last.seq, readSeq: 0, unread: 1 });
    expect(last).toMatchObject({ from: b!.uid, to: a!.uid, type: 'text', content: 'reply from Bea' });
    const groupLast = all.find((m) => m.content === 'in the group')!;
    expect(list[1]).toEqual({ groupId, name: 'Trio 🎈', lastMessage: groupLast, lastSeq: groupLast.seq, readSeq: 0, unread: 1 });
    expect(list[2]).toMatchObject({ peer: c!.uid, name: c!.username, unread: 1, lastMessage: { content: 'from c' } });
    // The sender's own view: its clientMsgId, nothing unread.
    const forA = await conversation(h, b!, { peer: a!.uid });
    expect(forA).toMatchObject({
      peer: a!.uid,
      name: a!.username,
      unread: 1,
      lastMessage: { content: 'reply from Bea', clientMsgId: expect.any(String) },
    });
    const bSide = await inbox(h, b!);
    expect(bSide.find((m) => m.msgId === toB.msgId)).toMatchObject({ content: 'hello Bea' });
  });

  it('counts text, voice, image and video entries from others only, not system entries or own messages', async () => {
    const [a, b, c] = await newUsers(h, 3, 'cv');
    const { groupId } = await createGroup(h, a!, [b!]);
    await ok(h, a!, 'addgroupmember', { groupId, members: [c!.uid] });
    await sendGroupText(h, a!, groupId, 'mine');
    await sendGroupText(h, b!, groupId, 'theirs 1');
    await sendGroupText(h, c!, groupId, 'theirs 2');
    await entries(a!, 5);
    expect(await conversation(h, a!, { groupId })).toMatchObject({ unread: 2, lastMessage: { content: 'theirs 2' } });
    await entries(b!, 5);
    expect(await conversation(h, b!, { groupId })).toMatchObject({ unread: 2 });
    await sendText(h, a!, b!, 'self-check');
    expect(await conversation(h, a!, { peer: b!.uid })).toMatchObject({ unread: 0 });
  });

  it("cuts a text's content to 100 code points in lastMessage (sync keeps it whole)", async () => {
    const [a, b] = await newUsers(h, 2, 'cv');
    const text = '😀'.repeat(60) + 'x'.repeat(60);
    await sendText(h, a!, b!, text);
    const c = await conversation(h, b!, { peer: a!.uid });
    expect(c!.lastMessage.content).toBe('😀'.repeat(60) + 'x'.repeat(40));
    expect((await inbox(h, b!))[0]!.content).toBe(text);
  });

  it('answers at most `limit` (default 100, 1..500), and needs a token', async () => {
    const [a, ...others] = await newUsers(h, 4, 'cv');
    for (const o of others) await sendText(h, o, a!, `hi from ${o.username}`);
    expect(await conversations(h, a!, 2)).toHaveLength(2);
    expect((await conversations(h, a!, 2)).map((x) => x.peer)).toEqual([others[2]!.uid, others[1]!.uid]);
    expect(await conversations(h, a!)).toHaveLength(3);
    expectError(await call(h, a!, 'getconversations', { limit: 0 }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'getconversations', { limit: 501 }), 400, 'INVALID_INPUT');
    expectError(await h.post('getconversations', {}), 401, 'UNAUTHENTICATED');
    const [fresh] = await newUsers(h, 1, 'cv');
    expect(await conversations(h, fresh!)).toEqual([]);
  });
});

describe('markread', () => {
  it('moves the read position, writes a `read` entry for the caller and a `receipt` for the peer', async () => {
    const [a, b] = await newUsers(h, 2, 'mr');
    const m1 = await sendText(h, a!, b!, 'one');
    const m2 = await sendText(h, a!, b!, 'two');
    await sendText(h, b!, a!, 'my own');
    const conv = (await conversation(h, b!, { peer: a!.uid }))!;
    expect(conv).toMatchObject({ unread: 2, readSeq: 0, lastSeq: 3 });
    // Up to the first message: one left unread, a receipt for m1.
    expect(await markRead(h, b!, { peer: a!.uid }, 1)).toEqual({ readSeq: 1, unread: 1 });
    expect(await conversation(h, b!, { peer: a!.uid })).toMatchObject({ readSeq: 1, unread: 1, lastSeq: 3 });
    const bRead = (await inbox(h, b!, 3))[0]!;
    expect(bRead).toEqual({
      seq: 4,
      msgId: expect.any(String),
      from: b!.uid,
      to: a!.uid,
      type: 'system',
      event: { kind: 'read', peer: a!.uid, seq: 1 },
      createdAt: expect.any(Number),
    });
    const receipt1 = (await inbox(h, a!, 3))[0]!;
    expect(receipt1).toMatchObject({ from: b!.uid, to: a!.uid, type: 'system', event: { kind: 'receipt', by: b!.uid, upTo: m1.msgId } });
    // Everything: nothing unread, a receipt for m2.
    expect(await markRead(h, b!, { peer: a!.uid }, 3)).toEqual({ readSeq: 3, unread: 0 });
    expect((await inbox(h, a!, 4)).map((m) => m.event)).toEqual([{ kind: 'receipt', by: b!.uid, upTo: m2.msgId }]);
    // read and receipt entries move no conversation up and are not its lastMessage.
    expect(await conversation(h, a!, { peer: b!.uid })).toMatchObject({ lastSeq: 3, lastMessage: { content: 'my own' } });
    expect(await conversation(h, b!, { peer: a!.uid })).toMatchObject({ lastSeq: 3, lastMessage: { content: 'my own' } });
  });

  it('never moves back: a smaller or equal seq is a no-op that writes nothing', async () => {
    const [a, b] = await newUsers(h, 2, 'mr');
    await sendText(h, a!, b!, 'one');
    await sendText(h, a!, b!, 'two');
    expect(await markRead(h, b!, { peer: a!.uid }, 2)).toEqual({ readSeq: 2, unread: 0 });
    const bLen = (await inbox(h, b!)).length;
    const aLen = (await inbox(h, a!)).length;
    expect(await markRead(h, b!, { peer: a!.uid }, 1)).toEqual({ readSeq: 2, unread: 0 });
    expect(await markRead(h, b!, { peer: a!.uid }, 2)).toEqual({ readSeq: 2, unread: 0 });
    expect(await markRead(h, b!, { peer: a!.uid }, 0)).toEqual({ readSeq: 2, unread: 0 });
    expect((await inbox(h, b!)).length).toBe(bLen);
    expect((await inbox(h, a!)).length).toBe(aLen);
  });

  it('stops at the conversation lastSeq, so marking read up to its own read entry writes nothing more', async () => {
    const [a, b] = await newUsers(h, 2, 'mr');
    await sendText(h, a!, b!, 'hi');
    expect(await markRead(h, b!, { peer: a!.uid }, 1_000_000)).toEqual({ readSeq: 1, unread: 0 });
    const all = await inbox(h, b!);
    expect(all.map((m) => m.seq)).toEqual([1, 2]);
    expect(all[1]!.event).toEqual({ kind: 'read', peer: a!.uid, seq: 1 });
    expect(await markRead(h, b!, { peer: a!.uid }, 2)).toEqual({ readSeq: 1, unread: 0 });
    expect((await inbox(h, b!)).length).toBe(2);
  });

  it('sends no receipt when the newest read message of the peer did not change', async () => {
    const [a, b] = await newUsers(h, 2, 'mr');
    await sendText(h, a!, b!, 'ping');
    await markRead(h, b!, { peer: a!.uid }, 1);
    const aLen = (await inbox(h, a!)).length;
    // b writes more; reading those (its own) moves the position but reads nothing new of a's.
    await sendText(h, b!, a!, 'pong');
    await sendText(h, b!, a!, 'pong again');
    const to = (await conversation(h, b!, { peer: a!.uid }))!.lastSeq;
    expect(await markRead(h, b!, { peer: a!.uid }, to)).toEqual({ readSeq: to, unread: 0 });
    expect((await inbox(h, a!, aLen)).map((m) => m.content)).toEqual(['pong', 'pong again']);
  });

  it('works in groups with a `read` entry naming the group, and no receipt', async () => {
    const [a, b, c] = await newUsers(h, 3, 'mr');
    const { groupId } = await createGroup(h, a!, [b!, c!], 'g');
    await sendGroupText(h, a!, groupId, 'one');
    await sendGroupText(h, c!, groupId, 'two');
    const got = await entries(b!, 3);
    const last = got[got.length - 1]!.seq;
    expect(await conversation(h, b!, { groupId })).toMatchObject({ unread: 2 });
    expect(await markRead(h, b!, { groupId }, last)).toEqual({ readSeq: last, unread: 0 });
    expect((await inbox(h, b!, last))[0]!.event).toEqual({ kind: 'read', groupId, seq: last });
    const aAll = await inbox(h, a!);
    expect(aAll.filter((m) => m.event?.kind === 'receipt')).toEqual([]);
  });

  it('answers {readSeq: 0, unread: 0} and writes nothing for a conversation with no entries', async () => {
    const [a, b] = await newUsers(h, 2, 'mr');
    expect(await markRead(h, a!, { peer: b!.uid }, 5)).toEqual({ readSeq: 0, unread: 0 });
    expect(await inbox(h, a!)).toEqual([]);
    expect(await inbox(h, b!)).toEqual([]);
  });

  it('refuses bad input: 400 for both or neither of peer and groupId or a bad seq, 404 for unknown ones, 401 without token', async () => {
    const [a, b] = await newUsers(h, 2, 'mr');
    const { groupId } = await createGroup(h, a!, [b!]);
    expectError(await call(h, a!, 'markread', { peer: b!.uid, groupId, seq: 1 }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'markread', { seq: 1 }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'markread', { peer: b!.uid, seq: -1 }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'markread', { peer: b!.uid, seq: 1.5 }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'markread', { peer: b!.uid }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'markread', { peer: 'u0000000000000000', seq: 1 }), 404, 'NO_SUCH_USER');
    expectError(await call(h, a!, 'markread', { groupId: 'g0000000000000000', seq: 1 }), 404, 'NO_SUCH_GROUP');
    expectError(await h.post('markread', { peer: b!.uid, seq: 1 }), 401, 'UNAUTHENTICATED');
  });
});

describe('two devices of one user', () => {
  it('agree on unread after one of them reads, and the other learns it by syncing', async () => {
    const [a, b] = await newUsers(h, 2, 'dv');
    const phone = b!;
    const l = await login(h, b!.username, b!.password, 'laptop');
    expect(l.status, l.text).toBe(200);
    const laptop: User = { ...b!, token: l.body.token };
    expect(laptop.token).not.toBe(phone.token);
    for (let i = 0; i < 5; i++) await sendText(h, a!, b!, `m${i}`);
    const { group: g2 } = { group: await createGroup(h, a!, [b!], 'both') };
    await sendGroupText(h, a!, g2.groupId, 'group hi');
    await entries(phone, 7);
    const key = (await sync(h, laptop, { syncKey: 0, limit: 500 })).body.syncKey as number;
    expect(await conversation(h, laptop, { peer: a!.uid })).toMatchObject({ unread: 5, readSeq: 0 });
    expect(await conversation(h, phone, { peer: a!.uid })).toMatchObject({ unread: 5, readSeq: 0 });

    expect(await markRead(h, phone, { peer: a!.uid }, 3)).toEqual({ readSeq: 3, unread: 2 });
    for (const device of [phone, laptop]) {
      expect(await conversation(h, device, { peer: a!.uid })).toMatchObject({ unread: 2, readSeq: 3 });
      expect(await conversation(h, device, { groupId: g2.groupId })).toMatchObject({ unread: 1, readSeq: 0 });
    }
    // The laptop's sync brings the read entry: it can update its badge without asking.
    const s = await sync(h, laptop, { syncKey: key });
    expect(s.body.messages.map((m: { event?: unknown }) => m.event)).toEqual([{ kind: 'read', peer: a!.uid, seq: 3 }]);
    // And back: the laptop reads the rest; the phone agrees.
    expect(await markRead(h, laptop, { peer: a!.uid }, 5)).toEqual({ readSeq: 5, unread: 0 });
    expect(await conversation(h, phone, { peer: a!.uid })).toMatchObject({ unread: 0, readSeq: 5 });
  });
});
