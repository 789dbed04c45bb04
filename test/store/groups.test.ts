import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { dbPath } from '../../src/store/db.js';
import type { GroupEvent, SyncMessage } from '../../src/store/api.js';
import { storeUsers, openStore, readAll, type Opened } from './support.js';

let o: Opened;
afterEach(async () => {
  await o?.cleanup();
});

const text = (from: string, groupId: string, content: string, clientMsgId = content.replace(/[^\w-]/g, '_')) => ({
  from,
  groupId,
  type: 'text' as const,
  content,
  clientMsgId,
});
/** A compact view of an inbox: 'text:<content>' or '<event kind>:<members>'. */
const view = (all: SyncMessage[]) =>
  all.map((m) => (m.type === 'system' ? `${m.event!.kind}:${(m.event as GroupEvent).members.length}` : `${m.type}:${m.content}`));

describe('groups', () => {
  it('creates a group: owner first and always a member, members deduplicated, system entry for all', async () => {
    o = openStore();
    const [a, b, c] = await storeUsers(o.store, 3);
    const g = await o.store.createGroup({ owner: a!, name: 'team', members: [b!, c!, b!, a!] });
    expect(g.groupId).toMatch(/^g[0-9a-f]{16}$/);
    expect(g.members).toEqual([a, b, c]);
    // The owner's entry is written at once, the others' by the fan-out.
    expect(view(await readAll(o.store, a!))).toEqual(['group_created:3']);
    await o.store.whenIdle();
    for (const u of [b!, c!]) {
      const all = await readAll(o.store, u);
      expect(all).toEqual([
        {
          seq: 1,
          msgId: expect.any(String),
          from: a,
          groupId: g.groupId,
          type: 'system',
          event: { kind: 'group_created', groupId: g.groupId, by: a, members: [a, b, c] },
          createdAt: expect.any(Number),
        },
      ]);
    }
    const info = await o.store.getGroup({ uid: c!, groupId: g.groupId });
    expect(info).toEqual({ groupId: g.groupId, name: 'team', owner: a, members: [a, b, c], createdAt: expect.any(Number) });
  });

  it('refuses unknown users, too many members, non-members and unknown groups', async () => {
    o = openStore({ groupsMaxMembers: 3 });
    const [a, b, c, d] = await storeUsers(o.store, 4);
    await expect(o.store.createGroup({ owner: a!, name: 'x', members: [b!, 'u_ghost'] })).rejects.toMatchObject({
      code: 'NO_SUCH_USER',
      details: { uids: ['u_ghost'] },
    });
    await expect(o.store.createGroup({ owner: a!, name: 'x', members: [b!, c!, d!] })).rejects.toMatchObject({ code: 'GROUP_FULL' });
    const g = await o.store.createGroup({ owner: a!, name: 'x', members: [b!, c!] });
    await expect(o.store.addGroupMembers({ by: a!, groupId: g.groupId, members: [d!] })).rejects.toMatchObject({ code: 'GROUP_FULL' });
    await expect(o.store.getGroup({ uid: d!, groupId: g.groupId })).rejects.toMatchObject({ code: 'NOT_GROUP_MEMBER' });
    await expect(o.store.getGroup({ uid: a!, groupId: 'g_nope' })).rejects.toMatchObject({ code: 'NO_SUCH_GROUP' });
    await expect(o.store.sendMessage(text(d!, g.groupId, 'intruder'))).rejects.toMatchObject({ code: 'NOT_GROUP_MEMBER' });
    await expect(o.store.sendMessage(text(a!, 'g_nope', 'lost'))).rejects.toMatchObject({ code: 'NO_SUCH_GROUP' });
    await expect(o.store.addGroupMembers({ by: d!, groupId: g.groupId, members: [d!] })).rejects.toMatchObject({
      code: 'NOT_GROUP_MEMBER',
    });
    await expect(o.store.removeGroupMembers({ by: d!, groupId: g.groupId, members: [a!] })).rejects.toMatchObject({
      code: 'NOT_GROUP_MEMBER',
    });
  });

  it('delivers a group message once to every member; the sender gets its own entry at once', async () => {
    o = openStore();
    const users = await storeUsers(o.store, 6);
    const [a, b] = users;
    const g = await o.store.createGroup({ owner: a!, name: 'six', members: users.slice(1) });
    const sent = await o.store.sendMessage(text(b!, g.groupId, 'hello'));
    // b's entry was committed with the message: seq 2 (after group_created, which b got by fan-out first).
    expect(sent.seq).toBe(2);
    await o.store.whenIdle();
    for (const u of users) {
      const all = await readAll(o.store, u);
      expect(all.map((m) => m.seq)).toEqual([1, 2]);
      expect(all[1]).toMatchObject({ msgId: sent.msgId, from: b, groupId: g.groupId, content: 'hello' });
      expect(all[1]!.to).toBeUndefined();
      // clientMsgId only on the sender's own entry.
      expect(all[1]!.clientMsgId).toBe(u === b ? 'hello' : undefined);
    }
  });

  it('members added later get nothing older; removed members get nothing newer (even while the queue lags)', async () => {
    o = openStore();
    const [a, b, c, d] = await storeUsers(o.store, 4);
    const g = await o.store.createGroup({ owner: a!, name: 'x', members: [b!, c!] });
    await o.store.whenIdle();
    // Same batch, before any fan-out: the message goes to a, b, c only; then d joins; then c leaves.
    const [m1] = await Promise.all([
      o.store.sendMessage(text(a!, g.groupId, 'before d')),
      o.store.addGroupMembers({ by: b!, groupId: g.groupId, members: [d!, b!] }),
    ]);
    const [, m2] = await Promise.all([
      o.store.removeGroupMembers({ by: a!, groupId: g.groupId, members: [c!] }),
      o.store.sendMessage(text(a!, g.groupId, 'after c left')),
    ]);
    await o.store.whenIdle();
    expect(view(await readAll(o.store, d!))).toEqual(['members_added:1', 'members_removed:1', 'text:after c left']);
    expect(view(await readAll(o.store, c!))).toEqual(['group_created:3', 'text:before d', 'members_added:1', 'members_removed:1']);
    // b's own action is written at once, like a sender's entry; a's earlier message reaches b by fan-out.
    expect(view(await readAll(o.store, b!))).toEqual([
      'group_created:3',
      'members_added:1',
      'text:before d',
      'members_removed:1',
      'text:after c left',
    ]);
    expect(m1.msgId).not.toBe(m2.msgId);
    const removed = (await readAll(o.store, c!))[3]!;
    expect(removed.event).toEqual({ kind: 'members_removed', groupId: g.groupId, by: a, members: [c] });
    expect((await o.store.getGroup({ uid: a!, groupId: g.groupId })).members).toEqual([a, b, d]);
    await expect(o.store.sendMessage(text(c!, g.groupId, 'still here?'))).rejects.toMatchObject({ code: 'NOT_GROUP_MEMBER' });
  });

  it('lets anyone leave, only the owner remove others, and passes ownership when the owner leaves', async () => {
    o = openStore();
    const [a, b, c, d] = await storeUsers(o.store, 4);
    const g = await o.store.createGroup({ owner: a!, name: 'x', members: [b!, c!, d!] });
    await expect(o.store.removeGroupMembers({ by: b!, groupId: g.groupId, members: [c!] })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await o.store.removeGroupMembers({ by: d!, groupId: g.groupId, members: [d!] })).toEqual({ members: [a, b, c] });
    // Removing someone who is not a member changes nothing.
    expect(await o.store.removeGroupMembers({ by: a!, groupId: g.groupId, members: [d!] })).toEqual({ members: [a, b, c] });
    expect(await o.store.removeGroupMembers({ by: a!, groupId: g.groupId, members: [a!] })).toEqual({ members: [b, c] });
    const info = await o.store.getGroup({ uid: b!, groupId: g.groupId });
    expect(info.owner).toBe(b);
    await o.store.whenIdle();
    const last = (await readAll(o.store, c!)).at(-1)!;
    expect(last.event).toEqual({ kind: 'members_removed', groupId: g.groupId, by: a, members: [a], owner: b });
    // The new owner may now remove others.
    expect(await o.store.removeGroupMembers({ by: b!, groupId: g.groupId, members: [c!] })).toEqual({ members: [b] });
    // A group of one: a post writes only the sender's entry, no fan-out job.
    await o.store.sendMessage(text(b!, g.groupId, 'alone'));
    expect(o.store.stats().queueDepth.fanout).toBe(0);
  });

  it('fans out in the order messages were sent, to every member, each inbox dense', async () => {
    o = openStore({ queue: { fanoutBatchEntries: 100 } });
    const users = await storeUsers(o.store, 30);
    const g = await o.store.createGroup({ owner: users[0]!, name: 'order', members: users });
    const sends = [];
    for (let i = 0; i < 200; i++) sends.push(o.store.sendMessage(text(users[i % 30]!, g.groupId, `n${i}`)));
    const acks = await Promise.all(sends);
    await o.store.whenIdle();
    const order = new Map(acks.map((r, i) => [r.msgId, i]));
    for (const [k, u] of users.entries()) {
      const all = await readAll(o.store, u);
      expect(all.map((m) => m.seq)).toEqual(all.map((_, i) => i + 1));
      expect(all.length).toBe(201);
      // Others' messages arrive in send order (own messages are written at send time).
      const others = all.filter((m) => m.type === 'text' && m.from !== u).map((m) => order.get(m.msgId)!);
      expect(others).toEqual([...others].sort((x, y) => x - y));
      expect(others.length).toBe(200 - acks.filter((_, i) => i % 30 === k).length);
    }
    expect(o.store.stats().inboxEntriesWritten).toBe(30 + 200 * 30);
  });

  it('keeps only the membership versions still needed', async () => {
    o = openStore();
    const [a, b, c] = await storeUsers(o.store, 3);
    const g = await o.store.createGroup({ owner: a!, name: 'v', members: [b!] });
    await o.store.sendMessage(text(a!, g.groupId, 'm1'));
    await o.store.addGroupMembers({ by: a!, groupId: g.groupId, members: [c!] });
    await o.store.removeGroupMembers({ by: a!, groupId: g.groupId, members: [b!] });
    await o.store.whenIdle();
    const db = new Database(dbPath(o.dir), { readonly: true });
    try {
      expect(db.prepare('SELECT version, members, pending_jobs FROM group_versions').all()).toEqual([
        { version: 3, members: JSON.stringify([a, c]), pending_jobs: 0 },
      ]);
      expect(db.prepare(`SELECT COUNT(*) FROM jobs WHERE state = 'pending'`).pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });
});
