/**
 * Durability (SPEC §4 Send: "a 200 means the message is durably committed: it
 * survives kill -9"). Clients send concurrently, the host is SIGKILLed in the
 * middle, restarted on the same data dir, and every acknowledged message must
 * be there exactly once in the sender's and the recipient's inbox, at the seq
 * the sender was told, with every inbox dense. Sends cut off by the kill are
 * retried with their clientMsgId and must land exactly once too.
 */
import { afterAll, expect, it } from 'vitest';
import { clientMsgId, expectDense, inbox } from './client.js';
import { newUsers, PROJECT_CGIS, type RunningHost, startHost, type User, waitFor } from '../helpers/index.js';

const hosts: RunningHost[] = [];
afterAll(async () => {
  for (const h of hosts) await h.stop().catch(() => undefined);
});

interface Attempt {
  from: User;
  to: User;
  content: string;
  clientMsgId: string;
  ack?: { msgId: string; seq: number; createdAt: number };
}

it('keeps every acknowledged message exactly once across kill -9, with dense inboxes', async () => {
  const cgisDir = PROJECT_CGIS;
  const first = await startHost({ cgisDir });
  hosts.push(first);
  const users = await newUsers(first, 6, 'crash');
  const attempts: Attempt[] = [];
  let stop = false;

  // 12 clients, each sending one message after another, to a rotating recipient.
  const client = async (c: number) => {
    const from = users[c % users.length]!;
    for (let i = 0; !stop; i++) {
      const to = users[(c + i + 1) % users.length]!;
      const a: Attempt = { from, to, content: `c${c} #${i} ${'x'.repeat(i % 50)}`, clientMsgId: clientMsgId(`k${c}`) };
      attempts.push(a);
      try {
        const res = await fetch(`${first.url}/cgi-bin/sendmsg`, {
          method: 'POST',
          headers: { authorization: `Bearer ${from.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: to.uid, type: 'text', content: a.content, clientMsgId: a.clientMsgId }),
        });
        const body = (await res.json()) as Attempt['ack'];
        if (res.status === 200) a.ack = body;
        else if (!stop) throw new Error(`unexpected ${res.status}: ${JSON.stringify(body)}`);
      } catch (err) {
        if (!stop) throw err;
        return; // the host died under this request: not acknowledged
      }
    }
  };
  const clients = Array.from({ length: 12 }, (_, c) => client(c));
  // Kill once a good number of sends are acknowledged, while the clients are still sending.
  // (After 20 s it kills anyway: fewer acknowledged sends make a weaker test, not a wrong one.)
  await waitFor(() => attempts.filter((a) => a.ack).length >= 400, 20_000, 10).catch(() => undefined);
  stop = true;
  await first.kill();
  await Promise.all(clients);

  const acked = attempts.filter((a) => a.ack);
  const cut = attempts.filter((a) => !a.ack);
  expect(acked.length).toBeGreaterThanOrEqual(400);
  // Sends in flight at the kill (usually about one per client; none if the test process, not the host,
  // was the slower one and had every answer buffered): they are retried below.
  console.info(`crash: ${acked.length} sends acknowledged, ${cut.length} cut off by the kill`);

  const second = await startHost({ cgisDir, dataDir: first.dataDir });
  hosts.push(second);

  // Every acknowledged message: in the sender's inbox at its seq, and once in the recipient's.
  const inboxes = new Map<User, Awaited<ReturnType<typeof inbox>>>();
  for (const u of users) {
    const all = await inbox(second, u);
    expectDense(all);
    expect(new Set(all.map((m) => m.msgId)).size, `duplicate entries for ${u.username}`).toBe(all.length);
    inboxes.set(u, all);
  }
  for (const a of acked) {
    const own = inboxes.get(a.from)!.filter((m) => m.msgId === a.ack!.msgId);
    expect(own, `sender's entry of ${a.clientMsgId}`).toHaveLength(1);
    expect(own[0]).toMatchObject({
      seq: a.ack!.seq,
      from: a.from.uid,
      to: a.to.uid,
      content: a.content,
      clientMsgId: a.clientMsgId,
      createdAt: a.ack!.createdAt,
    });
    const theirs = inboxes.get(a.to)!.filter((m) => m.msgId === a.ack!.msgId);
    expect(theirs, `recipient's entry of ${a.clientMsgId}`).toHaveLength(1);
    expect(theirs[0]).toMatchObject({ from: a.from.uid, to: a.to.uid, content: a.content });
  }
  // Nothing else: each entry is a message some client sent (acknowledged or cut off), never invented.
  const byCmid = new Map(attempts.map((a) => [a.clientMsgId, a]));
  for (const u of users) {
    for (const m of inboxes.get(u)!.filter((x) => x.from === u.uid)) expect(byCmid.has(m.clientMsgId!)).toBe(true);
  }

  // The clients retry what was cut off: each lands exactly once (or is found, already committed).
  for (const a of cut) {
    const r = await second.post(
      'sendmsg',
      { to: a.to.uid, type: 'text', content: a.content, clientMsgId: a.clientMsgId },
      { token: a.from.token },
    );
    expect(r.status, r.text).toBe(200);
    a.ack = r.body;
  }
  for (const u of users) {
    const all = await inbox(second, u);
    expectDense(all);
    const expected = attempts.filter((a) => a.from === u || a.to === u).map((a) => a.ack!.msgId);
    expect(all.map((m) => m.msgId).sort()).toEqual(expected.sort());
  }
}, 90_000);
