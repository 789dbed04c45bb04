/**
 * gethistory over the real host (SPEC §6 History): one conversation's entries
 * of the caller's inbox, newest first, paged with beforeSeq, exactly as sync
 * shows them, whatever else the inbox holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, expectError, newUsers, type User } from '../helpers/index.js';
import { createGroup, inbox, sendGroupText, sendText, type SyncMessage } from '../messaging/client.js';
import { call, CGIS_DIR, conversationKey, history, markRead, ok } from './support.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: { watch: false } });
});
afterAll(async () => {
  await h?.stop();
});

/** `u`'s entries of one conversation, newest first, read through sync. */
async function expected(u: User, key: string): Promise<SyncMessage[]> {
  return (await inbox(h, u)).filter((m) => conversationKey(m, u.uid) === key).reverse();
}

/** Every page of a conversation, following beforeSeq. */
async function allPages(u: User, key: Record<string, string>, limit?: number): Promise<SyncMessage[][]> {
  const pages: SyncMessage[][] = [];
  let beforeSeq: number | undefined;
  for (;;) {
    const body: Record<string, unknown> = { ...key };
    if (beforeSeq !== undefined) body.beforeSeq = beforeSeq;
    if (limit !== undefined) body.limit = limit;
    const r = await history(h, u, body);
    pages.push(r.messages);
    if (!r.more) return pages;
    expect(r.messages.length).toBe(limit ?? 50);
    beforeSeq = r.messages[r.messages.length - 1]!.seq;
  }
}

describe('gethistory', () => {
  it('pages one conversation newest first, 50 by default, among other conversations, exactly as sync shows the entries', async () => {
    const [a, b, c] = await newUsers(h, 3, 'hs');
    const { groupId } = await createGroup(h, a!, [b!, c!], 'noise');
    await ok(h, a!, 'addcontact', { uid: b!.uid, greeting: 'hi' });
    await ok(h, b!, 'acceptcontact', { uid: a!.uid });
    for (let i = 0; i < 60; i++) {
      await sendText(h, i % 3 === 0 ? b! : a!, i % 3 === 0 ? a! : b!, `ab ${i}`);
      if (i % 4 === 0) await sendText(h, c!, a!, `ca ${i}`);
      if (i % 5 === 0) await sendGroupText(h, b!, groupId, `group ${i}`);
    }
    await markRead(h, a!, { peer: b!.uid }, 30);
    await waitFor(async () => (await inbox(h, a!)).filter((m) => m.groupId === groupId).length === 13);
    const want = await expected(a!, b!.uid);
    // 60 texts, contact_added, the read entry, and b's receipt goes to b: 62 entries.
    expect(want.length).toBe(62);
    const pages = await allPages(a!, { peer: b!.uid });
    expect(pages.map((p) => p.length)).toEqual([50, 12]);
    expect(pages.flat()).toEqual(want);
    expect(want.map((m) => m.event?.kind ?? m.type)).toContain('read');
    // Pages of 7, and a group conversation.
    expect((await allPages(a!, { peer: b!.uid }, 7)).flat()).toEqual(want);
    expect((await allPages(a!, { groupId })).flat()).toEqual(await expected(a!, groupId));
    expect((await allPages(c!, { peer: a!.uid }, 3)).flat()).toEqual(await expected(c!, a!.uid));
  });

  it('takes any beforeSeq, also one of another conversation or past the end, and answers an empty page when nothing is older', async () => {
    const [a, b, c] = await newUsers(h, 3, 'hs');
    await sendText(h, a!, b!, 'b1'); // a:1
    await sendText(h, a!, c!, 'c1'); // a:2
    await sendText(h, a!, b!, 'b2'); // a:3
    await sendText(h, a!, c!, 'c2'); // a:4
    await sendText(h, a!, b!, 'b3'); // a:5
    const texts = async (body: Record<string, unknown>) => (await history(h, a!, body)).messages.map((m) => m.content);
    expect(await texts({ peer: b!.uid })).toEqual(['b3', 'b2', 'b1']);
    expect(await texts({ peer: b!.uid, beforeSeq: 5 })).toEqual(['b2', 'b1']);
    expect(await texts({ peer: b!.uid, beforeSeq: 4 })).toEqual(['b2', 'b1']);
    expect(await texts({ peer: b!.uid, beforeSeq: 2 })).toEqual(['b1']);
    expect(await texts({ peer: b!.uid, beforeSeq: 1 })).toEqual([]);
    expect(await texts({ peer: b!.uid, beforeSeq: 1000 })).toEqual(['b3', 'b2', 'b1']);
    expect(await history(h, a!, { peer: c!.uid, beforeSeq: 5, limit: 1 })).toMatchObject({ messages: [{ content: 'c2' }], more: true });
    expect(await history(h, a!, { peer: c!.uid, beforeSeq: 4, limit: 1 })).toMatchObject({ messages: [{ content: 'c1' }], more: false });
  });

  it("shows a removed member the group's entries up to the removal, and a member added later nothing earlier", async () => {
    const [a, b, c] = await newUsers(h, 3, 'hs');
    const { groupId } = await createGroup(h, a!, [b!], 'changing');
    await sendGroupText(h, a!, groupId, 'before');
    await ok(h, a!, 'delgroupmember', { groupId, members: [b!.uid] });
    await ok(h, a!, 'addgroupmember', { groupId, members: [c!.uid] });
    await sendGroupText(h, a!, groupId, 'after');
    await waitFor(async () => (await inbox(h, c!)).length === 2);
    const kinds = async (u: User) => (await history(h, u, { groupId })).messages.map((m) => m.content ?? m.event!.kind);
    expect(await kinds(b!)).toEqual(['members_removed', 'before', 'group_created']);
    expect(await kinds(c!)).toEqual(['after', 'members_added']);
    expect(await kinds(a!)).toEqual(['after', 'members_added', 'members_removed', 'before', 'group_created']);
  });

  it('answers an empty page for a conversation the caller has no entries of', async () => {
    const [a, b] = await newUsers(h, 2, 'hs');
    expect(await history(h, a!, { peer: b!.uid })).toEqual({ messages: [], more: false });
  });

  it('refuses bad input: 400 for both or neither of peer and groupId, a bad limit or beforeSeq; 404 for unknown ones; 401', async () => {
    const [a, b] = await newUsers(h, 2, 'hs');
    const { groupId } = await createGroup(h, a!, [b!]);
    for (const body of [
      { peer: b!.uid, groupId },
      {},
      { peer: b!.uid, limit: 0 },
      { peer: b!.uid, limit: 201 },
      { peer: b!.uid, beforeSeq: 0 },
      { peer: b!.uid, beforeSeq: 'x' },
    ]) {
      expectError(await call(h, a!, 'gethistory', body), 400, 'INVALID_INPUT');
    }
    expect((await call(h, a!, 'gethistory', { peer: b!.uid, limit: 200 })).status).toBe(200);
    expectError(await call(h, a!, 'gethistory', { peer: 'u0000000000000000' }), 404, 'NO_SUCH_USER');
    expectError(await call(h, a!, 'gethistory', { groupId: 'g0000000000000000' }), 404, 'NO_SUCH_GROUP');
    expectError(await h.post('gethistory', { peer: b!.uid }), 401, 'UNAUTHENTICATED');
  });
});
