/**
 * SIGKILL right after acknowledged group sends (SPEC §4 Groups: "Nothing is
 * lost or duplicated if the host dies mid fan-out: the job resumes after
 * restart"). A large group gets a burst of messages, the host is killed the
 * moment the last 200 arrives, restarted on the same data dir, and once the
 * queue has drained every member has each acknowledged message exactly once,
 * in send order, in a dense inbox.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { clientMsgId, createGroup, expectDense, inbox } from '../messaging/client.js';
import { metric, newUsers, PROJECT_CGIS, type RunningHost, startHost, waitFor } from '../helpers/index.js';

/** 100 members: 200 scrypt calls to register and log them in is what the time budget allows. */
const MEMBERS = 100;
const MESSAGES = 20;

const hosts: RunningHost[] = [];
afterAll(async () => {
  for (const h of hosts) await h.stop().catch(() => undefined);
});

it('delivers every acknowledged group message exactly once after kill -9 mid fan-out', async () => {
  const cgisDir = PROJECT_CGIS;
  const first = await startHost({ cgisDir });
  hosts.push(first);
  const users = await newUsers(first, MEMBERS, 'gk');
  const [owner, ...rest] = users;
  const { groupId } = await createGroup(first, owner!, rest, 'crash');
  const senders = users.slice(0, 4);

  // The burst: 20 sends at once, while two other members keep posting (so the fan-out is busy);
  // the host dies the moment the last of the 20 is acknowledged.
  const acks: Array<{ from: string; msgId: string; seq: number }> = [];
  const background: Array<{ from: string; msgId: string; seq: number }> = [];
  let killed: Promise<void> | undefined;
  const chatter = users.slice(-2).map(async (from) => {
    while (!killed) {
      try {
        const r = await first.post(
          'sendmsg',
          { groupId, type: 'text', content: 'chatter', clientMsgId: clientMsgId('bg') },
          { token: from.token },
        );
        if (r.status === 200) background.push({ from: from.uid, msgId: r.body.msgId, seq: r.body.seq });
      } catch {
        return; // cut off by the kill: not acknowledged
      }
    }
  });
  await Promise.all(
    Array.from({ length: MESSAGES }, async (_, i) => {
      const from = senders[i % senders.length]!;
      const r = await first.post(
        'sendmsg',
        { groupId, type: 'text', content: `burst ${i}`, clientMsgId: clientMsgId('gk') },
        { token: from.token },
      );
      expect(r.status, r.text).toBe(200);
      acks.push({ from: from.uid, msgId: r.body.msgId, seq: r.body.seq });
      if (acks.length === MESSAGES) killed = first.kill();
    }),
  );
  await killed;
  await Promise.all(chatter);

  // How far the fan-out got before the kill (for the record: the test holds either way).
  const peek = new Database(join(first.dataDir, 'cgihost.db'), { readonly: true });
  const states = peek.prepare(`SELECT state, COUNT(*) AS n FROM jobs WHERE topic = 'fanout' GROUP BY state`).all();
  peek.close();
  console.info(`group crash: fan-out jobs at the kill: ${JSON.stringify(states)}`);

  const second = await startHost({ cgisDir, dataDir: first.dataDir });
  hosts.push(second);
  await waitFor(async () => (await metric(second, 'cgihost_queue_depth', { topic: 'fanout' })) === 0, 20_000, 100);

  const acked = [...acks, ...background];
  const ids = new Set(acked.map((a) => a.msgId));
  // Every member ends with the same group messages: all acknowledged ones, and any cut-off one
  // that had committed (its fan-out job committed with it), each once.
  let reference: string[] | undefined;
  for (const u of users) {
    const all = await inbox(second, u);
    expectDense(all);
    expect(new Set(all.map((m) => m.msgId)).size, `${u.username}: no duplicates`).toBe(all.length);
    expect(all[0]).toMatchObject({ type: 'system', event: { kind: 'group_created', groupId } });
    const msgs = all.slice(1);
    for (const m of msgs) expect(m).toMatchObject({ groupId, type: 'text' });
    const got = new Set(msgs.map((m) => m.msgId));
    for (const id of ids) expect(got.has(id), `${u.username} has acknowledged ${id}`).toBe(true);
    reference ??= [...got].sort();
    expect([...got].sort(), `${u.username} has the same messages as the others`).toEqual(reference);
    // Each sender's messages arrive in its send order.
    for (const s of [...senders, ...users.slice(-2)]) {
      const mine = acked
        .filter((a) => a.from === s.uid)
        .sort((x, y) => x.seq - y.seq)
        .map((a) => a.msgId);
      expect(msgs.filter((m) => m.from === s.uid && ids.has(m.msgId)).map((m) => m.msgId)).toEqual(mine);
    }
  }
}, 110_000);
