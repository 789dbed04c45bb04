/**
 * Group delivery by write-diffusion (SPEC §4 Groups): every member at the
 * moment of sending gets an entry in their own inbox (the sender at once, the
 * others through the fan-out queue), nobody else does; members added later get
 * nothing older, removed members nothing newer; group changes arrive as system
 * entries; every member sees the messages in the order they were sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientMsgId, createGroup, expectDense, inbox, sendGroupText, sync, syncWaiters, type SyncMessage } from '../messaging/client.js';
import { newUsers, PROJECT_CGIS, type RunningHost, startHost, type User, waitFor } from '../helpers/index.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS });
});
afterAll(async () => {
  await h?.stop();
});

/** The user's inbox once it holds `n` entries (the fan-out is asynchronous). */
async function inboxOf(u: User, n: number): Promise<SyncMessage[]> {
  let all: SyncMessage[] = [];
  await waitFor(async () => (all = await inbox(h, u)).length >= n, 10_000, 20);
  return all;
}

/**
 * The user's inbox once it holds `msgId`. The fan-out takes jobs in the order
 * messages were sent, so once a later message has reached someone, every
 * earlier message's fan-out is done: the witness for "never arrived".
 */
async function inboxWith(u: User, msgId: string): Promise<SyncMessage[]> {
  return waitFor(
    async () => {
      const all = await inbox(h, u);
      return all.some((m) => m.msgId === msgId) && all;
    },
    10_000,
    { everyMs: 20, what: `${msgId} in ${u.username}'s inbox` },
  );
}

const groupMsgs = (all: SyncMessage[]) => all.filter((m) => m.type !== 'system');
const systemOf = (all: SyncMessage[], kind: string) => all.filter((m) => m.type === 'system' && m.event?.kind === kind);

describe('delivery', () => {
  it('reaches every member (the sender too) in their own inbox, and nobody else', async () => {
    const [a, b, c, outsider] = (await newUsers(h, 4, 'gd')) as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c], 'delivery');
    const cmid = clientMsgId('g');
    const r = await h.post('sendmsg', { groupId, type: 'text', content: 'hello group', clientMsgId: cmid }, { token: b.token });
    expect(r.status, r.text).toBe(200);
    const { msgId, seq, createdAt } = r.body;
    // The sender's entry is written with the send: it is there at once.
    const own = await inbox(h, b);
    expect(own.find((m) => m.msgId === msgId)).toEqual({
      seq,
      msgId,
      from: b.uid,
      groupId,
      type: 'text',
      content: 'hello group',
      clientMsgId: cmid,
      createdAt,
    });
    for (const m of [a, c]) {
      const all = await inboxOf(m, 2);
      expectDense(all);
      const entry = all.find((x) => x.msgId === msgId)!;
      // No `to`, no clientMsgId for the others, no nulls.
      expect(entry).toEqual({ seq: entry.seq, msgId, from: b.uid, groupId, type: 'text', content: 'hello group', createdAt });
    }
    // A later group message that the outsider is sent has arrived: the first one's fan-out is over, and missed them.
    const { groupId: laterGroup } = await createGroup(h, a, [outsider], 'witness');
    const later = await sendGroupText(h, a, laterGroup, 'later, to the outsider');
    expect((await inboxWith(outsider, later.msgId)).filter((m) => m.groupId !== laterGroup)).toEqual([]);
    // An idempotent retry of a group send writes no second entry anywhere.
    const again = await h.post('sendmsg', { groupId, type: 'text', content: 'hello group', clientMsgId: cmid }, { token: b.token });
    expect(again.body).toEqual(r.body);
    // A message sent after the retry has reached everyone: a second fan-out of the first would have come before it.
    const next = await sendGroupText(h, a, groupId, 'after the retry');
    for (const m of [a, b, c]) expect((await inboxWith(m, next.msgId)).filter((x) => x.msgId === msgId)).toHaveLength(1);
  });

  it('gives nothing older to members added later, and nothing newer to removed members', async () => {
    const [a, b, c, late] = (await newUsers(h, 4, 'gj')) as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c], 'join-leave');
    const before = await sendGroupText(h, a, groupId, 'before the join');
    expect((await h.post('addgroupmember', { groupId, members: [late.uid] }, { token: b.token })).status).toBe(200);
    const after = await sendGroupText(h, a, groupId, 'after the join');
    expect((await h.post('delgroupmember', { groupId, members: [c.uid] }, { token: a.token })).status).toBe(200);
    const afterRemoval = await sendGroupText(h, b, groupId, 'after the removal');

    // b was there throughout: everything.
    const bs = await inboxOf(b, 6);
    expect(groupMsgs(bs).map((m) => m.msgId)).toEqual([before.msgId, after.msgId, afterRemoval.msgId]);
    // late: the join, and what came after it; the last send has reached late, so every earlier fan-out is done.
    const lsAll = await inboxWith(late, afterRemoval.msgId);
    expectDense(lsAll);
    expect(groupMsgs(lsAll).map((m) => m.msgId)).toEqual([after.msgId, afterRemoval.msgId]);
    expect(lsAll[0]).toMatchObject({ type: 'system', event: { kind: 'members_added', members: [late.uid] } });
    // c: up to its removal (which it is told of), then nothing.
    const cs = await inbox(h, c);
    expectDense(cs);
    expect(groupMsgs(cs).map((m) => m.msgId)).toEqual([before.msgId, after.msgId]);
    expect(cs[cs.length - 1]).toMatchObject({ type: 'system', event: { kind: 'members_removed', by: a.uid, members: [c.uid] } });
  });
});

describe('system entries', () => {
  it('group_created, members_added and members_removed reach the affected users', async () => {
    const [a, b, c, d, e] = (await newUsers(h, 5, 'gs')) as [User, User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c], 'events');
    expect((await h.post('addgroupmember', { groupId, members: [d.uid] }, { token: c.token })).status).toBe(200);
    expect((await h.post('delgroupmember', { groupId, members: [b.uid] }, { token: a.token })).status).toBe(200);
    expect((await h.post('delgroupmember', { groupId, members: [c.uid] }, { token: c.token })).status).toBe(200);

    const created = { kind: 'group_created', groupId, by: a.uid, members: [a.uid, b.uid, c.uid] };
    const added = { kind: 'members_added', groupId, by: c.uid, members: [d.uid] };
    const removedB = { kind: 'members_removed', groupId, by: a.uid, members: [b.uid] };
    const leftC = { kind: 'members_removed', groupId, by: c.uid, members: [c.uid] };
    const expected: Array<[User, object[]]> = [
      [a, [created, added, removedB, leftC]],
      [b, [created, added, removedB]],
      [c, [created, added, removedB, leftC]],
      [d, [added, removedB, leftC]],
      [e, []],
    ];
    for (const [u, events] of expected) {
      const all = events.length > 0 ? await inboxOf(u, events.length) : await inbox(h, u);
      expectDense(all);
      expect(
        all.map((m) => m.event),
        u.username,
      ).toEqual(events);
      for (const m of all) {
        // A system entry: from the actor, to the group, no content, no clientMsgId.
        expect(Object.keys(m).sort()).toEqual(['createdAt', 'event', 'from', 'groupId', 'msgId', 'seq', 'type']);
        expect(m.type).toBe('system');
        expect(m.from).toBe(m.event!.by);
        expect(m.groupId).toBe(groupId);
      }
    }
    // Everyone who got an event got the same message (stored once).
    const createdIds = new Set<string>();
    for (const u of [a, b, c]) createdIds.add(systemOf(await inbox(h, u), 'group_created')[0]!.msgId);
    expect(createdIds.size).toBe(1);
  });
});

describe('system entries when the owner leaves', () => {
  it('members_removed names the new owner (event.owner), as the store documents', async () => {
    const [a, b, c] = (await newUsers(h, 3, 'gw')) as [User, User, User];
    const { groupId } = await createGroup(h, a, [b, c], 'succession');
    expect((await h.post('delgroupmember', { groupId, members: [a.uid] }, { token: a.token })).status).toBe(200);
    for (const u of [a, b, c]) {
      const all = await inboxOf(u, 2);
      // src/store/api.ts SystemEvent.owner: "On members_removed, when the owner left: the new owner".
      expect(systemOf(all, 'members_removed')[0]!.event, u.username).toEqual({
        kind: 'members_removed',
        groupId,
        by: a.uid,
        members: [a.uid],
        owner: b.uid,
      });
    }
  });
});

describe('ordering', () => {
  it('every member sees one sender’s 50 quick messages in send order', async () => {
    const [a, b, c, d] = (await newUsers(h, 4, 'go')) as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c, d], 'order');
    // Fired together: the send order is the order of the sender's own seqs.
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => sendGroupText(h, a, groupId, `n${i}`)));
    const inSendOrder = [...acks].sort((x, y) => x.seq - y.seq).map((x) => x.msgId);
    for (const m of [a, b, c, d]) {
      const all = await inboxOf(m, 51);
      expectDense(all);
      expect(groupMsgs(all).map((x) => x.msgId)).toEqual(inSendOrder);
    }
  });

  it('with several senders at once, every member sees the same order', async () => {
    const [a, b, c, d] = (await newUsers(h, 4, 'gx')) as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c, d], 'interleave');
    const acks = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const from = [a, b, c][i % 3]!;
        return sendGroupText(h, from, groupId, `s${i}`).then((ack) => ({ ...ack, from }));
      }),
    );
    const orders: string[][] = [];
    for (const m of [a, b, c, d]) {
      const all = await inboxOf(m, 61);
      expectDense(all);
      const order = groupMsgs(all).map((x) => x.msgId);
      expect(order).toHaveLength(60);
      orders.push(order);
      // Each sender's messages in its own send order.
      for (const s of [a, b, c]) {
        const mine = acks
          .filter((x) => x.from === s)
          .sort((x, y) => x.seq - y.seq)
          .map((x) => x.msgId);
        expect(order.filter((id) => mine.includes(id))).toEqual(mine);
      }
    }
    // d sent nothing and saw everything through the fan-out; it agrees with the other members on the order of others' messages.
    const others = (order: string[], sender: User) => order.filter((id) => !acks.some((x) => x.msgId === id && x.from === sender));
    expect(others(orders[3]!, a)).toEqual(others(orders[0]!, a));
    expect(others(orders[3]!, b)).toEqual(others(orders[1]!, b));
    expect(others(orders[3]!, c)).toEqual(others(orders[2]!, c));
  });
});

describe('long-poll', () => {
  it("a member's held sync is answered by a group message", async () => {
    const [a, b, c] = (await newUsers(h, 3, 'gl')) as [User, User, User];
    const { groupId } = await createGroup(h, a, [b, c], 'wake');
    const bKey = (await inboxOf(b, 1)).length;
    const cKey = (await inboxOf(c, 1)).length;
    await syncWaiters(h, 0);
    const polls = [b, c].map((u, i) =>
      sync(h, u, { syncKey: i === 0 ? bKey : cKey, timeoutMs: 5_000 }).then((r) => ({ r, at: performance.now() })),
    );
    // Both are held by the store.
    await syncWaiters(h, 2);
    const sentAt = performance.now();
    const ack = await sendGroupText(h, a, groupId, 'wake up');
    const ackAt = performance.now();
    for (const p of await Promise.all(polls)) {
      expect(p.r.status).toBe(200);
      expect(p.r.body.messages.map((m: SyncMessage) => m.msgId)).toEqual([ack.msgId]);
      // Held until the send: never answered before it began.
      expect(p.at).toBeGreaterThan(sentAt);
      // Fan-out is asynchronous, but on an idle host it is prompt.
      expect(p.at - ackAt, 'wake-up after the sender’s 200 (ms)').toBeLessThan(500);
    }
    // Released: the next test's reading of one held sync is then a fresh one.
    await syncWaiters(h, 0);
  });

  it('a held sync is answered when its user is added to a group (the system entry)', async () => {
    const [a, newcomer] = (await newUsers(h, 2, 'gn')) as [User, User];
    const { groupId } = await createGroup(h, a, [], 'door');
    const poll = sync(h, newcomer, { syncKey: 0, timeoutMs: 5_000 });
    await syncWaiters(h, 1);
    expect((await h.post('addgroupmember', { groupId, members: [newcomer.uid] }, { token: a.token })).status).toBe(200);
    const r = await poll;
    expect(r.body.messages).toHaveLength(1);
    expect(r.body.messages[0]).toMatchObject({
      seq: 1,
      type: 'system',
      from: a.uid,
      groupId,
      event: { kind: 'members_added', groupId, by: a.uid, members: [newcomer.uid] },
    });
  });
});
