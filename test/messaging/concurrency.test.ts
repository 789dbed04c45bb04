/**
 * Concurrent sends (SPEC §4 The inbox): however many requests race, every
 * inbox stays dense (1..n, no gap, no duplicate) and holds each message once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientMsgId, expectDense, inbox } from './client.js';
import { newUsers, PROJECT_CGIS, type RunningHost, startHost, type User } from '../helpers/index.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS });
});
afterAll(async () => {
  await h?.stop();
});

interface Ack {
  from: User;
  to: User;
  content: string;
  clientMsgId: string;
  msgId: string;
  seq: number;
}

async function sendAll(plan: Array<{ from: User; to: User; content: string }>): Promise<Ack[]> {
  return Promise.all(
    plan.map(async (p) => {
      const cmid = clientMsgId('cc');
      const r = await h.post('sendmsg', { to: p.to.uid, type: 'text', content: p.content, clientMsgId: cmid }, { token: p.from.token });
      expect(r.status, r.text).toBe(200);
      return { ...p, clientMsgId: cmid, msgId: r.body.msgId as string, seq: r.body.seq as number };
    }),
  );
}

it('200 concurrent sends from several users to one recipient: dense inboxes, each message once', async () => {
  const users = await newUsers(h, 9, 'cc');
  const recipient = users[0]!;
  const senders = users.slice(1);
  const plan = Array.from({ length: 200 }, (_, i) => ({ from: senders[i % senders.length]!, to: recipient, content: `msg ${i}` }));
  const acks = await sendAll(plan);

  expect(new Set(acks.map((a) => a.msgId)).size).toBe(200);
  const got = await inbox(h, recipient);
  expect(got).toHaveLength(200);
  expectDense(got);
  expect(new Set(got.map((m) => m.msgId))).toEqual(new Set(acks.map((a) => a.msgId)));
  for (const m of got) {
    const a = acks.find((x) => x.msgId === m.msgId)!;
    expect(m).toEqual({
      seq: m.seq,
      msgId: a.msgId,
      from: a.from.uid,
      to: recipient.uid,
      type: 'text',
      content: a.content,
      createdAt: m.createdAt,
    });
  }
  // Each sender's inbox: dense, its own messages only, at the seqs it was told.
  for (const s of senders) {
    const mine = await inbox(h, s);
    const sentByMe = acks.filter((a) => a.from === s);
    expect(mine).toHaveLength(sentByMe.length);
    expectDense(mine);
    expect(mine.map((m) => m.seq).sort((x, y) => x - y)).toEqual(sentByMe.map((a) => a.seq).sort((x, y) => x - y));
    for (const m of mine) {
      const a = sentByMe.find((x) => x.msgId === m.msgId)!;
      expect([m.seq, m.clientMsgId]).toEqual([a.seq, a.clientMsgId]);
    }
  }
  // The messages of one sender reach the recipient in the order of its own seqs (one sender's sends commit in order).
  for (const s of senders) {
    const mySeqs = got.filter((m) => m.from === s.uid).map((m) => acks.find((a) => a.msgId === m.msgId)!.seq);
    expect(mySeqs).toEqual([...mySeqs].sort((x, y) => x - y));
  }
});

it('users who send and receive at the same time keep dense inboxes', async () => {
  const users = await newUsers(h, 6, 'mesh');
  const plan = [];
  for (let i = 0; i < 150; i++) {
    const from = users[i % users.length]!;
    const to = users[(i * 7 + 1) % users.length]!;
    plan.push({ from, to: to === from ? users[(i + 1) % users.length]! : to, content: `mesh ${i}` });
  }
  const acks = await sendAll(plan);
  for (const u of users) {
    const mine = await inbox(h, u);
    expectDense(mine);
    const expected = acks.filter((a) => a.from === u || a.to === u).map((a) => a.msgId);
    expect(mine.map((m) => m.msgId).sort()).toEqual(expected.sort());
  }
});
