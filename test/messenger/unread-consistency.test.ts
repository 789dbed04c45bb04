/**
 * Incremental unread counts against a recount (issue 15): after a random mix
 * of 1:1 sends, group sends, reads (partial and full, from two devices) and
 * recalls, every user's conversation list must equal what their inbox says,
 * recomputed from scratch: the conversations, each lastSeq (newest entry
 * other than read/receipt) and lastMessage, readSeq (the newest `read` entry
 * of the conversation) and unread (text, voice, image and video entries from
 * others above readSeq).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, login, metric, newUsers, type User } from '../helpers/index.js';
import { createGroup, inbox, type SyncMessage } from '../messaging/client.js';
import { call, CGIS_DIR, conversationKey, conversations, COUNTED, isReadOrReceipt } from './support.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: { watch: false } });
});
afterAll(async () => {
  await h?.stop();
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Expected {
  lastSeq: number;
  lastMsgId: string;
  readSeq: number;
  unread: number;
}

/** Every conversation of `uid`, recomputed from the whole inbox. */
function recount(all: SyncMessage[], uid: string): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const m of all) {
    const key = conversationKey(m, uid);
    if (key === null) continue;
    const c = out.get(key) ?? { lastSeq: 0, lastMsgId: '', readSeq: 0, unread: 0 };
    if (m.event?.kind === 'read') c.readSeq = Math.max(c.readSeq, m.event.seq!);
    if (!isReadOrReceipt(m)) {
      c.lastSeq = m.seq;
      c.lastMsgId = m.msgId;
    }
    out.set(key, c);
  }
  for (const [key, c] of out) {
    c.unread = all.filter((m) => conversationKey(m, uid) === key && m.seq > c.readSeq && COUNTED.has(m.type) && m.from !== uid).length;
    if (c.lastSeq === 0) out.delete(key);
  }
  return out;
}

it('keeps every conversation row equal to a recount from the inbox after a random mix of sends, reads and recalls', async () => {
  const seed = Number(process.env.UNREAD_SEED ?? Date.now() % 1_000_000);
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const users = await newUsers(h, 6, 'ur');
  // A second device for two of them: reads come from either.
  const devices: User[] = [...users];
  for (const u of users.slice(0, 2)) {
    const l = await login(h, u.username, u.password, 'second');
    devices.push({ ...u, token: l.body.token });
  }
  const groups = [
    (await createGroup(h, users[0]!, users.slice(1, 5), 'g-one')).groupId,
    (await createGroup(h, users[3]!, [users[4]!, users[5]!, users[0]!], 'g-two')).groupId,
  ];
  const members = new Map<string, User[]>([
    [groups[0]!, users.slice(0, 5)],
    [groups[1]!, [users[3]!, users[4]!, users[5]!, users[0]!]],
  ]);
  const mine = new Map<string, string[]>(users.map((u) => [u.uid, []]));
  let n = 0;
  const ops = { send: 0, group: 0, read: 0, recall: 0 };
  for (let i = 0; i < 220; i++) {
    const r = rnd();
    if (r < 0.4) {
      const from = pick(users);
      const to = pick(users);
      const res = await call(h, from, 'sendmsg', { to: to.uid, type: 'text', content: `t${i}`, clientMsgId: `ur-${seed}-${n++}` });
      expect(res.status, res.text).toBe(200);
      mine.get(from.uid)!.push(res.body.msgId);
      ops.send++;
    } else if (r < 0.65) {
      const groupId = pick(groups);
      const from = pick(members.get(groupId)!);
      const res = await call(h, from, 'sendmsg', { groupId, type: 'text', content: `g${i}`, clientMsgId: `ur-${seed}-${n++}` });
      expect(res.status, res.text).toBe(200);
      mine.get(from.uid)!.push(res.body.msgId);
      ops.group++;
    } else if (r < 0.9) {
      const device = pick(devices);
      const list = await conversations(h, device);
      if (list.length === 0) continue;
      const c = pick(list);
      // Anywhere from the current read position to past the end.
      const seq = c.readSeq + Math.floor(rnd() * (c.lastSeq - c.readSeq + 3));
      const res = await call(h, device, 'markread', c.groupId ? { groupId: c.groupId, seq } : { peer: c.peer, seq });
      expect(res.status, res.text).toBe(200);
      ops.read++;
    } else {
      const from = pick(users);
      const ids = mine.get(from.uid)!;
      if (ids.length === 0) continue;
      const res = await call(h, from, 'recallmsg', { msgId: ids.splice(Math.floor(rnd() * ids.length), 1)[0] });
      expect(res.status, res.text).toBe(200);
      ops.recall++;
    }
  }
  await waitFor(async () => (await metric(h, 'cgihost_queue_depth', { topic: 'fanout' })) === 0, 20_000, 100);
  let checked = 0;
  for (const u of users) {
    const all = await inbox(h, u);
    const want = recount(all, u.uid);
    const got = await conversations(h, u, 500);
    expect(
      got.map((c) => [c.peer ?? c.groupId, c.lastSeq, c.lastMessage.msgId, c.readSeq, c.unread]).sort(),
      `seed ${seed}, user ${u.username}`,
    ).toEqual([...want].map(([k, c]) => [k, c.lastSeq, c.lastMsgId, c.readSeq, c.unread]).sort());
    // The list is newest activity first, and lastMessage is the entry as sync shows it (content cut to 100).
    expect(got.map((c) => c.lastSeq)).toEqual(got.map((c) => c.lastSeq).sort((a, b) => b - a));
    for (const c of got) expect(c.lastMessage).toEqual(all.find((m) => m.seq === c.lastSeq));
    checked += got.length;
  }
  console.info(`unread consistency: seed ${seed}, ${JSON.stringify(ops)}, ${checked} conversations compared`);
  expect(ops.recall).toBeGreaterThan(0);
  expect(ops.read).toBeGreaterThan(20);
}, 240_000);
