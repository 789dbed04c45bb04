/**
 * Several real hosts on one real PostgreSQL (SPEC §9): each host a child
 * process with its own data dir, all on one database and one shared media
 * folder, talking HTTP as clients do. What must hold across them: a long-poll
 * held on one host is answered when another commits (and within about a
 * second when the notification between them is lost, or the listening
 * connection is cut); seqs stay dense with each message once whichever host
 * took it; a logout through one host is refused by the others within 1 s,
 * and an account disabled through one ends its long-polls held on the others;
 * a group fan-out survives `kill -9` of the host doing it (the others finish
 * it, each member gets each message once); media uploaded through one host is
 * served by another.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientMsgId, createGroup, expectDense, inbox, sendText, sync, type SyncMessage } from '../messaging/client.js';
import { freshDatabase, PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { metric, newUsers, PROJECT_CGIS, startHost, tempDir, waitFor, type RunningHost, type User } from '../helpers/index.js';

pgSkipNote('several hosts on PostgreSQL');

/** Only the CGIs these tests call: three hosts with every CGI of the project would be ~90 threads. */
function messagingCgis(): string {
  const dir = tempDir('cgihost-pg-cgis-');
  for (const g of ['_shared', 'account', 'msgsend', 'msgsync', 'msgmedia', 'group'])
    cpSync(join(PROJECT_CGIS, g), join(dir, g), { recursive: true });
  return dir;
}

describe.skipIf(PG_SKIP)('several hosts on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const hosts: RunningHost[] = [];
  let a: RunningHost;
  let b: RunningHost;
  let cgisDir: string;
  let mediaDir: string;

  const start = (): Promise<RunningHost> =>
    startHost({ cgisDir, config: { store: { engine: 'postgres', url: db.url }, mediaDir } }).then((h) => {
      hosts.push(h);
      return h;
    });

  const query = async <R extends Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query<R>(sql, values)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    requirePg();
    db = await freshDatabase('cgihost_hosts');
    cgisDir = messagingCgis();
    mediaDir = tempDir('cgihost-pg-media-');
    mkdirSync(mediaDir, { recursive: true });
    [a, b] = await Promise.all([start(), start()]);
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) await h.stop().catch(() => undefined);
    await db?.drop();
  }, 60_000);

  it('a long-poll held on one host is answered when another host commits; the token works on both', async () => {
    const [alice, bob] = await newUsers(a, 2, 'pgw');
    // Bob's token was issued by host A: host B knows it too.
    const held = sync(b, bob!, { syncKey: 0, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const sent = performance.now();
    const s = await sendText(a, alice!, bob!, 'across hosts');
    const r = await held;
    const ms = performance.now() - sent;
    expect(r.status, r.text).toBe(200);
    expect(r.body.messages).toEqual([expect.objectContaining({ seq: 1, msgId: s.msgId, content: 'across hosts' })]);
    // A NOTIFY, not the 1 s re-check.
    expect(ms).toBeLessThan(900);
  }, 60_000);

  it('concurrent sends through both hosts to one inbox stay dense, each message once', async () => {
    const [target, ...senders] = await newUsers(a, 5, 'pgd');
    const acks: string[] = [];
    await Promise.all(
      senders.flatMap((u, i) =>
        Array.from({ length: 15 }, async (_, j) => {
          const h = (i + j) % 2 ? a : b;
          acks.push((await sendText(h, u, target!, `m ${i}.${j}`)).msgId);
        }),
      ),
    );
    for (const h of [a, b]) {
      const all = await inbox(h, target!);
      expectDense(all);
      expect(all.map((m) => m.msgId).sort()).toEqual([...acks].sort());
    }
  }, 60_000);

  it('text with U+0000 is refused (400), not a 500 from PostgreSQL', async () => {
    const [x, y] = await newUsers(a, 2, 'pgn');
    const r = await b.post(
      'sendmsg',
      { to: y!.uid, type: 'text', content: 'nul\u0000', clientMsgId: clientMsgId('nul') },
      { token: x!.token },
    );
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('INVALID_INPUT');
    expect((await a.post('searchmsgs', { query: '\u0000' }, { token: x!.token })).status).toBe(400);
  }, 60_000);

  it('a retried send through the other host answers the first answer (one message per clientMsgId)', async () => {
    const [x, y] = await newUsers(b, 2, 'pgi');
    const cmid = clientMsgId('retry');
    const first = await sendText(a, x!, y!, 'once', cmid);
    const again = await sendText(b, x!, y!, 'once', cmid);
    expect(again).toEqual(first);
    expect((await inbox(a, y!)).map((m) => m.msgId)).toEqual([first.msgId]);
  }, 60_000);

  it('a lost notification: the held sync is still answered within about a second', async () => {
    const [from, to] = await newUsers(a, 2, 'pgl');
    const held = sync(b, to!, { syncKey: 0, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    // An entry committed without any NOTIFY (as if the notification were lost on the way).
    const at = Date.now();
    await query(
      `WITH m AS (INSERT INTO messages (from_uid, to_uid, type, content, created_at) VALUES ($1, $2, 'text', 'no notify', $3) RETURNING id),
            h AS (INSERT INTO inbox_heads (uid, last_seq) VALUES ($2, 1) ON CONFLICT (uid) DO UPDATE SET last_seq = inbox_heads.last_seq + 1 RETURNING last_seq)
       INSERT INTO inbox (uid, seq, msg_id) SELECT $2, h.last_seq, m.id FROM m, h`,
      [from!.uid, to!.uid, at],
    );
    const r = await held;
    const ms = Date.now() - at;
    expect(r.status, r.text).toBe(200);
    expect(r.body.messages).toEqual([expect.objectContaining({ seq: 1, content: 'no notify' })]);
    expect(ms).toBeLessThan(2_000);
  }, 60_000);

  it('the listening connection cut: the hosts reconnect and miss nothing', async () => {
    const [from, to] = await newUsers(a, 2, 'pgc');
    const held = sync(b, to!, { syncKey: 0, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    const cut = await query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'cgihost-listen%'`,
    );
    expect(cut[0]!.n).toBeGreaterThanOrEqual(2);
    const s = await sendText(a, from!, to!, 'after the cut');
    const r = await held;
    expect(r.status, r.text).toBe(200);
    expect(r.body.messages).toEqual([expect.objectContaining({ msgId: s.msgId })]);
    // Both hosts listen again.
    await waitFor(
      async () =>
        (
          await query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'cgihost-listen%'`,
          )
        )[0]!.n >= 2,
      10_000,
      { what: 'both hosts listening again' },
    );
    // And a later wake-up is fast again.
    const next = sync(a, to!, { syncKey: 1, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = performance.now();
    await sendText(b, from!, to!, 'fast again');
    expect((await next).status).toBe(200);
    expect(performance.now() - sentAt).toBeLessThan(900);
  }, 60_000);

  it('a logout through one host is refused by the other within 1 s', async () => {
    const [u] = await newUsers(a, 1, 'pgo');
    // Host B has the token cached.
    expect((await sync(b, u!, { syncKey: 0 })).status).toBe(200);
    const out = await a.post('logout', {}, { token: u!.token });
    expect(out.status, out.text).toBe(200);
    const at = Date.now();
    await waitFor(async () => (await sync(b, u!, { syncKey: 0 })).status === 401, 1_000, { everyMs: 50, what: 'B refuses the token' });
    expect(Date.now() - at).toBeLessThan(1_000);
  }, 60_000);

  it('an account disabled through one host: its long-poll held on the other ends at once, and the token is refused there', async () => {
    const [u] = await newUsers(a, 1, 'pgd');
    const before = (await metric(b, 'cgihost_sync_waiters')) ?? 0;
    const held = sync(b, u!, { syncKey: 0, timeoutMs: 25_000 });
    await waitFor(async () => ((await metric(b, 'cgihost_sync_waiters')) ?? 0) > before, 5_000, {
      everyMs: 50,
      what: 'the sync held on B',
    });
    const at = Date.now();
    const off = await fetch(`${a.url}/_host/api/users/${u!.username}/disable`, { method: 'POST' });
    expect(off.status, await off.text()).toBe(200);
    const r = await held;
    // Ended with an empty answer, not held to its 25 s timeout.
    expect(r.status, r.text).toBe(200);
    expect(r.body.messages).toEqual([]);
    expect(Date.now() - at).toBeLessThan(2_000);
    expect((await sync(b, u!, { syncKey: 0 })).status).toBe(401);
  }, 60_000);

  it('media uploaded through one host is served by the other (one shared media folder)', async () => {
    const [u] = await newUsers(a, 1, 'pgm');
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const up = await fetch(`${a.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u!.token}`, 'content-type': 'image/png' },
      body: png,
    });
    const body = (await up.json()) as { mediaId: string };
    expect(up.status, JSON.stringify(body)).toBe(200);
    const got = await fetch(`${b.url}/cgi-bin/getmedia?mediaId=${body.mediaId}`, { headers: { authorization: `Bearer ${u!.token}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(png);
  }, 60_000);

  it('group fan-out with the sending host killed by kill -9 mid-way: the others finish it, each member gets each message once', async () => {
    const c = await start();
    const users: User[] = await newUsers(c, 60, 'pgk');
    const [owner, ...rest] = users;
    const { groupId } = await createGroup(c, owner!, rest, 'pg crash');
    const acks: string[] = [];
    let killed: Promise<void> | undefined;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const from = users[i % 4]!;
        const r = await c.post(
          'sendmsg',
          { groupId, type: 'text', content: `burst ${i}`, clientMsgId: clientMsgId('pgk') },
          { token: from.token },
        );
        expect(r.status, r.text).toBe(200);
        acks.push(r.body.msgId);
        if (acks.length === 20) killed = c.kill();
      }),
    );
    await killed;
    const states = await query(`SELECT state, count(*)::int AS n FROM jobs WHERE topic = 'fanout' GROUP BY state`);
    console.info(`pg crash: fan-out jobs at the kill: ${JSON.stringify(states)}`);
    await waitFor(
      async () =>
        (await query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE topic = 'fanout' AND state = 'pending'`))[0]!.n === 0,
      60_000,
      { everyMs: 200, what: 'the fan-out finished by the hosts still up' },
    );
    for (const u of users) {
      const all: SyncMessage[] = await inbox(u.uid.length % 2 ? a : b, u);
      expectDense(all);
      const ids = all.filter((m) => m.type === 'text').map((m) => m.msgId);
      expect(new Set(ids).size, `${u.username}: no duplicates`).toBe(ids.length);
      expect(ids.sort(), `${u.username} has every acknowledged message`).toEqual([...acks].sort());
    }
  }, 180_000);
});
