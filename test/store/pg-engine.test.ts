/**
 * What is the PostgreSQL engine's own: two PgStores on ONE database, as two
 * hosts behind a proxy. Seqs stay dense when both write to one inbox; a sync
 * held on one host is answered when the other writes (NOTIFY), still within
 * about a second when the notification is lost, and after the LISTEN
 * connection is killed; a revocation on one host moves the epoch the other
 * sees; a group fan-out whose worker dies mid-job is finished by the other
 * host, each member getting each message once. Needs PostgreSQL
 * (helpers/postgres.ts): skipped without.
 */
import pg from 'pg';
import { rmSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogger } from '../../src/log.js';
import { openPgStore } from '../../src/store/pg/open.js';
import type { PgStore, PgStoreOptions } from '../../src/store/pg/store.js';
import { revocationCounter } from '../../src/store/token-reader.js';
import { tempDir, waitFor } from '../helpers/index.js';
import { freshDatabase, PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { openEngine, readAll, storeUsers, type AnyStore, type Engine } from './support.js';

pgSkipNote('pg-engine.test');

interface Hosts {
  a: PgStore;
  b: PgStore;
  url: string;
  revA: Int32Array;
  revB: Int32Array;
  cleanup(): Promise<void>;
}

let hosts: Hosts | undefined;
afterEach(async () => {
  await hosts?.cleanup();
  hosts = undefined;
});

async function twoHosts(opts: Partial<PgStoreOptions> = {}): Promise<Hosts> {
  const db = await freshDatabase('cgihost_pgengine');
  const dir = tempDir('cgihost-pgengine-');
  const log = forwardLogger(() => {});
  const revA = revocationCounter();
  const revB = revocationCounter();
  const open = (hostId: string, revocations: Int32Array) => openPgStore({ ...opts, dataDir: dir, url: db.url, hostId, log, revocations });
  const a = await open('A', revA);
  const b = await open('B', revB);
  return {
    a,
    b,
    url: db.url,
    revA,
    revB,
    async cleanup() {
      await a.close();
      await b.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function sql<R extends Record<string, unknown>>(url: string, text: string, values?: unknown[]): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** Holds a sync of `uid` on `store` and resolves once it is held; `answer` resolves with it and the ms from `mark()`. */
async function held(store: PgStore, uid: string, syncKey: number, requestId: string) {
  const before = store.stats().syncWaiters;
  let t0 = 0;
  const answer = store
    .sync({ uid, syncKey, limit: 100, timeoutMs: 10_000 }, { requestId })
    .then((r) => ({ r, ms: performance.now() - t0 }));
  await waitFor(() => store.stats().syncWaiters > before, 2_000, { what: 'the sync to be held' });
  return {
    answer,
    mark: () => void (t0 = performance.now()),
  };
}

describe.skipIf(PG_SKIP)('PostgreSQL engine: two hosts on one database', () => {
  beforeAll(() => void requirePg());

  it('keeps one inbox dense under concurrent sends from both hosts (1..N, each once)', async () => {
    hosts = await twoHosts();
    const { a, b } = hosts;
    const users = await storeUsers(a, 11);
    const to = users[0]!;
    const sends = [];
    for (let i = 0; i < 300; i++) {
      const store = i % 2 === 0 ? a : b;
      sends.push(store.sendMessage({ from: users[1 + (i % 10)]!, to, type: 'text', content: `m${i}`, clientMsgId: `k${i}` }));
    }
    const results = await Promise.all(sends);
    const all = await readAll(b, to);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(new Set(all.map((m) => m.msgId))).toEqual(new Set(results.map((r) => r.msgId)));
    // Each sender's own inbox too: 30 entries each, dense, their seqs the ones answered.
    for (let s = 1; s <= 10; s++) {
      const own = await readAll(a, users[s]!);
      expect(own.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    const heads = await sql<{ uid: string; last_seq: string }>(hosts.url, 'SELECT uid, last_seq FROM inbox_heads WHERE uid = $1', [to]);
    expect(Number(heads[0]!.last_seq)).toBe(300);
  });

  it('keeps inboxes dense when one-statement sends and transactions write them at once', async () => {
    // A text to someone else is one server-side function (cgihost_send_direct); a read position is a transaction of
    // several statements that writes a read entry here and a receipt in the sender's inbox. Both take the same heads.
    hosts = await twoHosts();
    const { a, b } = hosts;
    const users = await storeUsers(a, 5);
    const to = users[0]!;
    const sends: Array<Promise<{ msgId: string; seq: number }>> = [];
    const reads: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      const from = users[1 + (i % 4)]!;
      sends.push((i % 2 === 0 ? a : b).sendMessage({ from, to, type: 'text', content: `m${i}`, clientMsgId: `k${i}` }));
      if (i % 5 === 4) reads.push((i % 2 === 0 ? b : a).markRead({ uid: to, peer: from, seq: Number.MAX_SAFE_INTEGER }));
    }
    const results = await Promise.all(sends);
    await Promise.all(reads);
    const all = await readAll(b, to);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    const texts = all.filter((m) => m.type === 'text');
    expect(texts.map((m) => m.msgId).sort()).toEqual(results.map((r) => r.msgId).sort());
    expect(all.length - texts.length).toBeGreaterThan(0);
    for (let s = 1; s <= 4; s++) {
      const own = await readAll(a, users[s]!);
      expect(own.map((m) => m.seq)).toEqual(Array.from({ length: own.length }, (_, i) => i + 1));
      expect(own.filter((m) => m.type === 'text')).toHaveLength(50);
    }
  });

  it('answers each send of a batch on its own: refusals and retries beside stored sends, nothing of a refused one kept', async () => {
    // Sends that come together go out as one cgihost_send_batch (a savepoint each): a refused one must not undo the
    // others, nor leave a seq behind.
    hosts = await twoHosts();
    const { a } = hosts;
    const [x, y, z] = await storeUsers(a, 3);
    await a.blockUser({ uid: z!, peer: x! });
    const text = (to: string, content: string, clientMsgId: string) => ({ from: x!, to, type: 'text' as const, content, clientMsgId });
    const calls = [
      text(y!, 'one', 'c1'),
      text(z!, 'blocked', 'c2'),
      text('nobody', 'to no one', 'c3'),
      text(y!, 'two', 'c4'),
      text(y!, 'one', 'c1'),
      text(y!, 'not one', 'c1'),
      text(y!, 'three', 'c5'),
    ];
    const settled = await Promise.allSettled(calls.map((c) => a.sendMessage(c)));
    const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok');
    expect(settled.map(codeOf)).toEqual(['ok', 'BLOCKED', 'NO_SUCH_USER', 'ok', 'ok', 'IDEMPOTENCY_CONFLICT', 'ok']);
    const value = (i: number) => (settled[i] as PromiseFulfilledResult<{ msgId: string; seq: number }>).value;
    expect(value(4)).toEqual(value(0));
    // The sender's seqs of the three stored, and the recipient's inbox holds those three once.
    expect([value(0).seq, value(3).seq, value(6).seq].sort()).toEqual([1, 2, 3]);
    expect((await readAll(a, y!)).map((m) => m.content).sort()).toEqual(['one', 'three', 'two']);
    expect((await readAll(a, z!)).filter((m) => m.type === 'text')).toEqual([]);
    // Every inbox dense, its head at its last entry: nothing of the refused sends kept.
    for (const uid of [x!, y!, z!]) {
      const entries = await readAll(a, uid);
      expect(entries.map((m) => m.seq)).toEqual(entries.map((_, i) => i + 1));
      const head = await sql<{ last_seq: string }>(hosts.url, 'SELECT last_seq FROM inbox_heads WHERE uid = $1', [uid]);
      expect(Number(head[0]?.last_seq ?? 0)).toBe(entries.length);
    }
  });

  it('sends the sends that touch a batch out in the next one, in order, a few commits for many', async () => {
    // One batch out at a time: what comes meanwhile waits and goes together. Sends in a ring (each user sender of one
    // and recipient of another) all wait on the batch out; each sender's sends keep the order they were made in.
    hosts = await twoHosts();
    const { a } = hosts;
    const users = await storeUsers(a, 4);
    const before = a.stats().commits;
    const sends = Array.from({ length: 80 }, (_, i) =>
      a.sendMessage({ from: users[i % 4]!, to: users[(i + 1) % 4]!, type: 'text', content: `r${i}`, clientMsgId: `r${i}` }),
    );
    const results = await Promise.all(sends);
    expect(a.stats().commits - before).toBeLessThanOrEqual(4);
    for (let s = 0; s < 4; s++) {
      const seqs = results.filter((_, i) => i % 4 === s).map((r) => r.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      const entries = await readAll(a, users[s]!);
      expect(entries.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it('answers a duplicate send racing on both hosts with the first answer, storing it once', async () => {
    hosts = await twoHosts();
    const { a, b } = hosts;
    const [x, y] = await storeUsers(a, 2);
    const args = { from: x!, to: y!, type: 'text' as const, content: 'dup', clientMsgId: 'same' };
    const answers = await Promise.all([a.sendMessage(args), b.sendMessage(args), a.sendMessage(args), b.sendMessage(args)]);
    for (const r of answers) expect(r).toEqual(answers[0]);
    expect((await readAll(a, y!)).length).toBe(1);
    expect((await readAll(b, x!)).map((m) => m.seq)).toEqual([1]);
  });

  it('answers a sync held on B as soon as A commits an entry for it (NOTIFY)', async () => {
    hosts = await twoHosts();
    const { a, b } = hosts;
    const [x, y, v, w] = await storeUsers(a, 4);
    for (let i = 0; i < 3; i++) {
      const h = await held(b, y!, i, `r${i}`);
      h.mark();
      const sent = await a.sendMessage({ from: x!, to: y!, type: 'text', content: `n${i}`, clientMsgId: `n${i}` });
      const { r, ms } = await h.answer;
      expect(r.messages.map((m) => m.msgId)).toEqual([sent.msgId]);
      // Well under the one-second re-check: the notification did it.
      expect(ms).toBeLessThan(400);
    }
    // A batch of two sends: its one notification names the users of both, and each held sync is answered.
    const hy = await held(b, y!, 3, 'ry');
    const hw = await held(b, w!, 0, 'rw');
    hy.mark();
    hw.mark();
    const sends = [
      { f: x, t: y, c: 'to y', k: 'b1' },
      { f: v, t: w, c: 'to w', k: 'b2' },
    ];
    const rows = await sql<{ status: string }>(hosts.url, 'SELECT status FROM cgihost_send_batch($1::jsonb, $2, 0, false, true)', [
      JSON.stringify(sends),
      Date.now(),
    ]);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    for (const [h, content] of [
      [hy, 'to y'],
      [hw, 'to w'],
    ] as const) {
      const { r, ms } = await h.answer;
      expect(r.messages.map((m) => m.content)).toEqual([content]);
      expect(ms).toBeLessThan(400);
    }
  });

  it('answers a held sync within about a second when the notification is lost', async () => {
    hosts = await twoHosts();
    const { a, b } = hosts;
    const [x, y] = await storeUsers(a, 2);
    // B hears nothing any more: only its once-a-second re-check can answer.
    await b.wakeBus.close();
    const h = await held(b, y!, 0, 'lost');
    h.mark();
    const sent = await a.sendMessage({ from: x!, to: y!, type: 'text', content: 'quiet', clientMsgId: 'q' });
    const { r, ms } = await h.answer;
    expect(r.messages.map((m) => m.msgId)).toEqual([sent.msgId]);
    expect(ms).toBeLessThan(1_500);
    // A's own held sync is still woken at once by its own commit (no NOTIFY needed).
    const own = await held(a, x!, 1, 'own');
    own.mark();
    await b.sendMessage({ from: y!, to: x!, type: 'text', content: 'back', clientMsgId: 'b' });
    expect((await own.answer).r.messages.map((m) => m.content)).toEqual(['back']);
  });

  it('reconnects its LISTEN connection when it is killed, and misses nothing', async () => {
    hosts = await twoHosts();
    const { a, b } = hosts;
    const [x, y] = await storeUsers(a, 2);
    const h = await held(b, y!, 0, 'k1');
    const pid = b.wakeBus.pid;
    expect(pid).toBeGreaterThan(0);
    await sql(hosts.url, 'SELECT pg_terminate_backend($1)', [pid]);
    // Sent while B's LISTEN connection is down: its NOTIFY reaches nobody on B.
    h.mark();
    const sent = await a.sendMessage({ from: x!, to: y!, type: 'text', content: 'while down', clientMsgId: 'd' });
    const { r, ms } = await h.answer;
    expect(r.messages.map((m) => m.msgId)).toEqual([sent.msgId]);
    expect(ms).toBeLessThan(1_500);
    await waitFor(() => b.wakeBus.connected && b.wakeBus.pid !== pid, 5_000, { what: 'the LISTEN connection to come back' });
    expect(b.wakeBus.connects).toBe(2);
    // Connected again: notifications work as before.
    const h2 = await held(b, y!, 1, 'k2');
    h2.mark();
    await a.sendMessage({ from: x!, to: y!, type: 'text', content: 'after', clientMsgId: 'e' });
    const second = await h2.answer;
    expect(second.r.messages.map((m) => m.content)).toEqual(['after']);
    expect(second.ms).toBeLessThan(400);
  });

  it('moves the sessions epoch every host sees when a session is revoked on one', async () => {
    hosts = await twoHosts();
    const { a, b, revA, revB } = hosts;
    const [x] = await storeUsers(a, 1);
    const { sessionId } = await a.createSession({ uid: x!, tokenHash: 'th' });
    const before = b.sessionsEpoch;
    expect(await a.revokeSession({ sessionId })).toEqual({ revoked: true });
    expect(a.sessionsEpoch).toBe(before + 1);
    expect(Atomics.load(revA, 0)).toBe(1);
    const t0 = performance.now();
    await waitFor(() => b.sessionsEpoch === before + 1, 2_000, { what: 'B to see the new epoch' });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(Atomics.load(revB, 0)).toBe(1);
    // B's revocation moves A's view the same way.
    const s2 = await b.createSession({ uid: x!, tokenHash: 'th2' });
    await b.revokeSession({ sessionId: s2.sessionId });
    await waitFor(() => a.sessionsEpoch === before + 2 && Atomics.load(revA, 0) === 2, 2_000, { what: 'A to see it' });
  });

  it('finishes a group fan-out on B when A dies in the middle of the job: each member gets it once', async () => {
    hosts = await twoHosts();
    const { a, b, url } = hosts;
    const users = await storeUsers(a, 30);
    await b.fanoutWorker.stop();
    const g = await a.createGroup({ owner: users[0]!, name: 'big', members: users.slice(1) });
    await a.whenIdle();
    // A's worker writes every member's entry of the next job, then hangs inside its transaction.
    let stalled!: () => void;
    const inside = new Promise<void>((r) => (stalled = r));
    let release!: () => void;
    a.fanoutWorker.onEntry = () => {
      stalled();
      return new Promise<void>((r) => (release = r));
    };
    const sent = await a.sendMessage({ from: users[0]!, groupId: g.groupId, type: 'text', content: 'to all', clientMsgId: 'g1' });
    await inside;
    const written = await sql<{ n: string }>(
      url,
      'SELECT count(*) AS n FROM inbox i JOIN messages m ON m.id = i.msg_id WHERE m.content = $1',
      ['to all'],
    );
    expect(Number(written[0]!.n)).toBe(1); // only the sender's: A's entries are not committed
    // A's connection dies mid-transaction (as with kill -9 of its host).
    const killed = await sql<{ pid: number }>(
      url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cgihost A' AND state LIKE 'idle in transaction%'`,
    );
    expect(killed.length).toBe(1);
    release();
    a.fanoutWorker.onEntry = undefined;
    await a.fanoutWorker.stop();
    b.fanoutWorker.start();
    await b.whenIdle();
    for (const uid of users) {
      const all = await readAll(b, uid);
      expect(all.filter((m) => m.msgId === sent.msgId).length).toBe(1);
      expect(all.map((m) => m.seq)).toEqual(all.map((_, i) => i + 1));
    }
  });

  it('runs a group’s jobs once each, in order, with both workers taking jobs', async () => {
    hosts = await twoHosts();
    const { a, b } = hosts;
    const users = await storeUsers(a, 8);
    const g = await a.createGroup({ owner: users[0]!, name: 'g', members: users.slice(1) });
    const sent = [];
    for (let i = 0; i < 40; i++) {
      const store = i % 2 === 0 ? a : b;
      sent.push(await store.sendMessage({ from: users[i % 8]!, groupId: g.groupId, type: 'text', content: `t${i}`, clientMsgId: `t${i}` }));
    }
    await Promise.all([a.whenIdle(), b.whenIdle()]);
    for (const [u, uid] of users.entries()) {
      const texts = (await readAll(a, uid)).filter((m) => m.type === 'text');
      // Every message once in every inbox; the others' (written by fan-out) in the order sent.
      expect(new Set(texts.map((m) => m.msgId))).toEqual(new Set(sent.map((s) => s.msgId)));
      expect(texts.length).toBe(40);
      const fannedOut = sent.filter((_, i) => i % 8 !== u).map((s) => s.msgId);
      expect(texts.filter((m) => m.from !== uid).map((m) => m.msgId)).toEqual(fannedOut);
    }
    // One done job per post (the group_created one and the 40 messages), none left pending.
    const done = await sql<{ n: string }>(hosts.url, `SELECT count(*) AS n FROM jobs WHERE topic = 'fanout' AND state = 'done'`);
    expect(Number(done[0]!.n)).toBe(41);
  });

  it('counts the send limit across hosts', async () => {
    hosts = await twoHosts({ sendPerMinute: 3 });
    const { a, b } = hosts;
    const [x, y] = await storeUsers(a, 2);
    const send = (s: PgStore, k: string) => s.sendMessage({ from: x!, to: y!, type: 'text', content: k, clientMsgId: k });
    await send(a, 'k1');
    await send(b, 'k2');
    await send(a, 'k3');
    await expect(send(b, 'k4')).rejects.toMatchObject({ code: 'RATE_LIMITED', details: { sendPerMinute: 3 } });
    await expect(send(a, 'k5')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // A retry of a stored message is answered past the limit.
    expect((await send(b, 'k2')).seq).toBe(2);
  });
});

/**
 * The same conversation played on both engines, one step at a time, answers
 * the same: conversations, read marks and receipts, history pages, recalls
 * (1:1 and through a group's fan-out), errors. Ids are compared by position
 * (uids) or as they are (msgIds: both engines number messages 1, 2, 3...),
 * times left out.
 */
describe.skipIf(PG_SKIP)('PostgreSQL engine: answers as SQLite does', () => {
  async function play(engine: Engine): Promise<unknown[]> {
    const o = await openEngine(engine);
    const out: unknown[] = [];
    const step = async (what: string, f: () => Promise<unknown>) => {
      try {
        out.push([what, await f()]);
      } catch (e) {
        out.push([what, { error: (e as { code?: string }).code ?? String(e) }]);
      }
    };
    try {
      const s: AnyStore = o.store;
      const [a, b, c] = await storeUsers(s, 3);
      const text = (from: string, to: string, content: string, k: string) =>
        s.sendMessage({ from, to, type: 'text', content, clientMsgId: k });
      for (let i = 1; i <= 3; i++) await step(`a->b ${i}`, () => text(a!, b!, `hello ${i} ${'x'.repeat(i * 60)}`, `ab${i}`));
      await step('b->a', () => text(b!, a!, 'hi back', 'ba1'));
      await step('a->a', () => text(a!, a!, 'note to self', 'aa1'));
      await step('convs a', () => s.getConversations({ uid: a!, limit: 10 }));
      await step('convs b', () => s.getConversations({ uid: b!, limit: 10 }));
      await step('read b 2', () => s.markRead({ uid: b!, peer: a!, seq: 2 }));
      await step('read b 2 again', () => s.markRead({ uid: b!, peer: a!, seq: 2 }));
      await step('read b all', () => s.markRead({ uid: b!, peer: a!, seq: 1000 }));
      await step('read a self', () => s.markRead({ uid: a!, peer: a!, seq: 1000 }));
      await step('read no peer', () => s.markRead({ uid: a!, peer: 'u0000000000000000', seq: 1 }));
      await step('convs b after', () => s.getConversations({ uid: b!, limit: 10 }));
      await step('history a-b', () => s.getHistory({ uid: a!, peer: b!, limit: 2 }));
      await step('history a-b before 3', () => s.getHistory({ uid: a!, peer: b!, beforeSeq: 3, limit: 10 }));
      await step('history a-b before 2', () => s.getHistory({ uid: a!, peer: b!, beforeSeq: 2, limit: 10 }));
      await step('history b-a', () => s.getHistory({ uid: b!, peer: a!, limit: 50 }));
      await step('recall 2', () => s.recallMessage({ uid: a!, msgId: 'm2' }));
      await step('recall 2 again', () => s.recallMessage({ uid: a!, msgId: 'm2' }));
      await step('recall by b', () => s.recallMessage({ uid: b!, msgId: 'm1' }));
      await step('recall none', () => s.recallMessage({ uid: a!, msgId: 'mzz' }));
      const g = await s.createGroup({ owner: a!, name: 'trio', members: [b!, c!] });
      await s.whenIdle();
      await step('group send', () =>
        s.sendMessage({ from: b!, groupId: g.groupId, type: 'text', content: 'all of you', clientMsgId: 'g1' }),
      );
      await s.whenIdle();
      await step('group read c', async () => {
        const convs = await s.getConversations({ uid: c!, limit: 10 });
        return s.markRead({ uid: c!, groupId: g.groupId, seq: convs.conversations[0]!.lastSeq });
      });
      const gm = (await s.sync({ uid: b!, syncKey: 0, limit: 100, timeoutMs: 0 })).messages.find((m) => m.content === 'all of you')!;
      await step('group recall', () => s.recallMessage({ uid: b!, msgId: gm.msgId }));
      await s.whenIdle();
      await step('history c group', () => s.getHistory({ uid: c!, groupId: g.groupId, limit: 10 }));
      await step('ahead', () => s.sync({ uid: c!, syncKey: 999, limit: 10, timeoutMs: 0 }));
      for (const [i, u] of [a!, b!, c!].entries()) out.push([`inbox ${i}`, await readAll(s, u)]);
      for (const [i, u] of [a!, b!, c!].entries()) out.push([`convs ${i}`, await s.getConversations({ uid: u, limit: 10 })]);
      // Uids by position, group ids by name, times out.
      const names = new Map<string, string>([
        [a!, 'A'],
        [b!, 'B'],
        [c!, 'C'],
        [g.groupId, 'G'],
      ]);
      return JSON.parse(
        JSON.stringify(out, (k, v) => (k === 'createdAt' ? 0 : typeof v === 'string' && names.has(v) ? names.get(v) : v)),
      ) as unknown[];
    } finally {
      await o.cleanup();
    }
  }

  it('plays the same conversation to the same answers', async () => {
    requirePg();
    const sqlite = await play('sqlite');
    const postgres = await play('postgres');
    expect(postgres).toEqual(sqlite);
    // The play did something: reads, receipts and recalls are in it.
    const flat = JSON.stringify(sqlite);
    for (const kind of ['"read"', '"receipt"', '"recalled"', '"group_created"']) expect(flat).toContain(kind);
  });
});
