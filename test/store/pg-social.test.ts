/**
 * The PostgreSQL engine's contacts, profiles, groups and search
 * (src/store/pg/contacts.ts, groups.ts, search.ts) against the SQLite Store:
 * every call runs on both (a whole PgStore from openPgStore on a fresh
 * database), with the same users made through each store, and must answer
 * the same (results, error codes, messages and details; times, ids and uids
 * that are made differently are normalized), and leave the same inboxes.
 * Plus what only several hosts need: concurrent changes of one group make
 * consecutive versions, concurrent contact requests end as one writer's; and
 * the group webhooks PostgreSQL delivers to a local endpoint. Needs
 * PostgreSQL (helpers/postgres.ts): skipped without.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogger } from '../../src/log.js';
import { freshDatabase, PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { tempDir, waitFor } from '../helpers/index.js';
import { PgDb } from '../../src/store/pg/db.js';
import { PgContacts } from '../../src/store/pg/contacts.js';
import { PgGroups } from '../../src/store/pg/groups.js';
import { openPgStore } from '../../src/store/pg/open.js';
import type { PgStore } from '../../src/store/pg/store.js';
import { SEARCH_SQL } from '../../src/store/pg/search.js';
import type { Store } from '../../src/store/store.js';
import type { ConversationRef, SyncMessage } from '../../src/store/api.js';
import { openStore, readAll, storeUsers, type Opened } from './support.js';

pgSkipNote('pg-social.test');

const MAX_MEMBERS = 4;
const GROUP_EVENTS = ['group.created', 'group.members_added', 'group.members_removed'];

type Ops = Pick<
  Store,
  | 'setProfile'
  | 'getProfiles'
  | 'findUser'
  | 'addContact'
  | 'acceptContact'
  | 'declineContact'
  | 'deleteContact'
  | 'getContacts'
  | 'blockUser'
  | 'unblockUser'
  | 'createGroup'
  | 'addGroupMembers'
  | 'removeGroupMembers'
  | 'getGroup'
  | 'searchMessages'
>;
const OPS: Array<keyof Ops> = [
  'setProfile',
  'getProfiles',
  'findUser',
  'addContact',
  'acceptContact',
  'declineContact',
  'deleteContact',
  'getContacts',
  'blockUser',
  'unblockUser',
  'createGroup',
  'addGroupMembers',
  'removeGroupMembers',
  'getGroup',
  'searchMessages',
];

/** What both engines are driven through, with the SQLite store's uids (PostgreSQL's side maps them). `gid` names a group by the test's name for it. */
interface Engine {
  name: 'sqlite' | 'pg';
  contacts: Ops;
  send(a: { from: string; text: string } & ConversationRef): Promise<unknown>;
  recall(uid: string, msgId: string): Promise<void>;
  /** Waits until the fan-out has no job left to run. */
  settle(): Promise<void>;
  inbox(uid: string): Promise<SyncMessage[]>;
  gids: Map<string, string>;
}

let sq: Opened;
let pgs: PgStore;
let pgDir: string;
/** A connection of the test's own to PostgreSQL's database (the store's pool is its own). */
let db: PgDb;
let dropDb: () => Promise<void>;
/** The users, by their SQLite uids (what the tests name them by)... */
let users: string[];
/** ...and the same users (same usernames, made in the same order) in PostgreSQL. */
let pgUsers: string[];
const toPgUid = new Map<string, string>();
const fromPgUid = new Map<string, string>();
/** The PostgreSQL uid of a user named by its SQLite uid. */
const P = (uid: string) => toPgUid.get(uid) ?? uid;
/** The group webhooks PostgreSQL delivered to the local endpoint. */
const hooks: Array<{ delivery: number; event: string; payload: unknown }> = [];
let hookServer: Server;
/** Read-only views of PostgreSQL's contacts and groups (what sending and fan-out ask), on the test's connection. */
let pgContacts: PgContacts;
let pgGroups: PgGroups;
let sqlite: Engine;
let postgres: Engine;
/** Per engine: message ids in the order first seen (ids may be made differently). */
const msgIds = { sqlite: new Map<string, string>(), pg: new Map<string, string>() };

/** Arguments for PostgreSQL: every SQLite uid in them becomes the same user's PostgreSQL uid. */
function toPg<T>(v: T): T {
  if (typeof v === 'string') return P(v) as T;
  if (Array.isArray(v)) return v.map(toPg) as T;
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [P(k), toPg(x)])) as T;
  }
  return v;
}

/** Times become 'T'; PostgreSQL's uids the SQLite ones; group ids the test's name; message ids their order of first appearance. */
function normal(e: Engine, v: unknown): unknown {
  if (v === undefined) return undefined;
  const names = new Map([...e.gids].map(([k, id]) => [id, k]));
  const ids = msgIds[e.name];
  let text = JSON.stringify(v);
  if (e.name === 'pg') text = text.replace(/u[0-9a-f]{16}/g, (u) => fromPgUid.get(u) ?? u);
  return JSON.parse(
    JSON.stringify(JSON.parse(text), (k, x) => {
      if ((k === 'createdAt' || k === 'at' || k === 'since') && typeof x === 'number') return 'T';
      if (typeof x === 'string' && names.has(x)) return `group:${names.get(x)}`;
      if (typeof x === 'string' && /^m[0-9a-z]+$/.test(x) && (k === 'msgId' || k === 'upTo')) {
        if (!ids.has(x)) ids.set(x, `M${ids.size + 1}`);
        return ids.get(x);
      }
      return x;
    }),
  );
}

async function outcome(e: Engine, fn: (e: Engine) => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: normal(e, await fn(e)) };
  } catch (err) {
    const x = err as { code?: string; message: string; details?: unknown };
    if (!x.code) throw err;
    return { error: normal(e, { code: x.code, message: x.message, details: x.details }) };
  }
}

/**
 * Runs `fn` on SQLite, then on PostgreSQL; both must answer the same. Returns
 * the (normalized) answer. First both fan-outs catch up, unless `settled` is false.
 */
async function same(fn: (e: Engine) => Promise<unknown>, settled = true): Promise<unknown> {
  if (settled) {
    await sqlite.settle();
    await postgres.settle();
  }
  const a = await outcome(sqlite, fn);
  const b = await outcome(postgres, fn);
  expect(b).toEqual(a);
  return a;
}

/** Both engines' inboxes of every user, after their fan-outs: the same. */
async function sameInboxes(): Promise<void> {
  await sqlite.settle();
  await postgres.settle();
  for (const u of users) {
    const a = normal(sqlite, await sqlite.inbox(u));
    const b = normal(postgres, await postgres.inbox(u));
    expect({ u, inbox: b }).toEqual({ u, inbox: a });
  }
}

/** A group made on both, known to the test as `name`. */
async function group(name: string, owner: string, members: string[]): Promise<void> {
  for (const e of [sqlite, postgres]) {
    const g = await e.contacts.createGroup({ owner, name, members });
    e.gids.set(name, g.groupId);
  }
}

const g = (e: Engine, name: string) => e.gids.get(name) ?? name;
/** A send's clientMsgId, the same on both engines (the texts here are all different). */
const clientId = (text: string) => Buffer.from(text).toString('hex').slice(0, 64);

/** A local webhook endpoint: every delivery is kept (in `hooks`) and answered 204. */
async function startHookServer(): Promise<string> {
  hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; data: unknown };
      hooks.push({ delivery: Number(req.headers['x-cgihost-delivery']), event: body.event, payload: body.data });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
}

describe.skipIf(PG_SKIP)('PostgreSQL contacts, profiles, groups, search: the same answers as SQLite', () => {
  beforeAll(async () => {
    requirePg();
    const fresh = await freshDatabase('cgihost_social');
    dropDb = fresh.drop;
    db = await PgDb.open({ url: fresh.url, max: 4 });
    pgDir = tempDir('cgihost-pgsocial-');
    pgs = await openPgStore({
      url: fresh.url,
      dataDir: pgDir,
      groupsMaxMembers: MAX_MEMBERS,
      webhooks: [{ url: await startHookServer(), events: GROUP_EVENTS }],
      log: forwardLogger(
        (level, msg, fields) => level !== 'debug' && level !== 'info' && console.log('PGLOG', level, msg, JSON.stringify(fields)),
      ),
    });
    sq = openStore({ groupsMaxMembers: MAX_MEMBERS });
    users = await storeUsers(sq.store, 6, 'soc');
    pgUsers = [];
    for (const i of users.keys()) pgUsers.push((await pgs.createUser({ username: `soc_${i}`, passwordHash: 'hash' })).uid);
    for (const [i, uid] of users.entries()) {
      toPgUid.set(uid, pgUsers[i]!);
      fromPgUid.set(pgUsers[i]!, uid);
    }
    // Read-only: what the send checks and the fan-out ask of these parts (they write nothing here).
    pgContacts = new PgContacts(db, null as never, null as never);
    pgGroups = new PgGroups(db, null as never, null as never, null as never, { wants: () => false, emit: async () => {} }, MAX_MEMBERS);
    const s = sq.store;
    sqlite = {
      name: 'sqlite',
      contacts: s,
      send: (a) =>
        s.sendMessage({ from: a.from, to: a.peer, groupId: a.groupId, type: 'text', content: a.text, clientMsgId: clientId(a.text) }),
      recall: async (uid, msgId) => void (await s.recallMessage({ uid, msgId })),
      settle: () => s.whenIdle(),
      inbox: (uid) => readAll(s, uid),
      gids: new Map(),
    };
    const contacts = Object.fromEntries(
      OPS.map((op) => [op, (a: unknown) => (pgs[op] as (a: unknown) => Promise<unknown>).call(pgs, toPg(a))]),
    ) as unknown as Ops;
    postgres = {
      name: 'pg',
      contacts,
      send: (a) =>
        pgs.sendMessage({
          from: P(a.from),
          to: a.peer && P(a.peer),
          groupId: a.groupId,
          type: 'text',
          content: a.text,
          clientMsgId: clientId(a.text),
        }),
      recall: async (uid, msgId) => void (await pgs.recallMessage({ uid: P(uid), msgId })),
      settle: () => pgs.whenIdle(),
      inbox: (uid) => readAll(pgs, P(uid)),
      gids: new Map(),
    };
  });

  afterAll(async () => {
    await sq?.cleanup();
    await pgs?.close();
    await db?.close();
    await dropDb?.();
    if (pgDir) rmSync(pgDir, { recursive: true, force: true });
    await new Promise((r) => (hookServer ? hookServer.close(r) : r(undefined)));
  });

  it('profiles: set, read, find; refusals', async () => {
    const [a, b] = users;
    await same((e) => e.contacts.setProfile({ uid: a!, displayName: '  Zoë Alpha ' }));
    await same((e) => e.contacts.setProfile({ uid: b!, displayName: 'bob' }));
    await same((e) => e.contacts.setProfile({ uid: 'u_ghost', displayName: 'x' }));
    await same((e) => e.contacts.setProfile({ uid: a!, displayName: '   ' }));
    await same((e) => e.contacts.setProfile({ uid: a!, displayName: 'x'.repeat(65) }));
    await same((e) => e.contacts.setProfile({ uid: a!, displayName: 'evil\u202e' }));
    await same((e) => e.contacts.setProfile({ uid: a!, avatarMediaId: 'f'.repeat(64) }));
    await same((e) => e.contacts.setProfile({ uid: a!, avatarMediaId: 'not-a-media-id' }));
    await same((e) => e.contacts.setProfile({ uid: a!, avatarMediaId: null }));
    await same((e) => e.contacts.getProfiles({ uids: [b!, 'u_ghost', a!, b!] }));
    await same((e) => e.contacts.getProfiles({ uids: Array.from({ length: 101 }, () => a!) }));
    await same((e) => e.contacts.getProfiles({ uids: 'x' as never }));
    await same((e) => e.contacts.findUser({ username: ' SOC_1 ' }));
    await same((e) => e.contacts.findUser({ username: 'nobody' }));
    await same((e) => e.contacts.findUser({ username: 5 as never }));
  });

  it('avatars: an image the user may read is set; another kind is refused', async () => {
    const [a, b] = users;
    const image = 'a'.repeat(64);
    const voice = 'b'.repeat(64);
    for (const [id, kind] of [
      [image, 'image'],
      [voice, 'voice'],
    ] as const) {
      const tempPath = join(sq.dir, `upload-${kind}`);
      writeFileSync(tempPath, 'bytes');
      await sq.store.putMedia({ uploader: a!, tempPath, sha256: id, kind, contentType: 'application/octet-stream', size: 5 });
      const pgTempPath = join(pgDir, `upload-${kind}`);
      writeFileSync(pgTempPath, 'bytes');
      await pgs.putMedia({ uploader: P(a!), tempPath: pgTempPath, sha256: id, kind, contentType: 'application/octet-stream', size: 5 });
    }
    expect(await same((e) => e.contacts.setProfile({ uid: a!, avatarMediaId: voice }))).toMatchObject({
      error: { code: 'MEDIA_KIND_MISMATCH' },
    });
    // b has no access to a's upload.
    expect(await same((e) => e.contacts.setProfile({ uid: b!, avatarMediaId: image }))).toMatchObject({ error: { code: 'NO_SUCH_MEDIA' } });
    expect(await same((e) => e.contacts.setProfile({ uid: a!, avatarMediaId: image }))).toMatchObject({ ok: { avatarMediaId: image } });
    // Once it is someone's avatar, everyone may read it.
    await same((e) => e.contacts.setProfile({ uid: b!, avatarMediaId: image }));
    await same((e) => e.contacts.getProfiles({ uids: [a!, b!] }));
    await same((e) => e.contacts.setProfile({ uid: b!, avatarMediaId: null }));
  });

  it('contacts: request, accept, decline, delete, block; lists and system entries', async () => {
    const [a, b, c, d, f] = users;
    const pair = (uid: string, peer: string) => ({ uid, peer });
    // Refusals first.
    await same((e) => e.contacts.addContact({ uid: a!, peer: a! }));
    await same((e) => e.contacts.addContact({ uid: a!, peer: 'u_ghost' }));
    await same((e) => e.contacts.addContact({ uid: a!, peer: 5 as never }));
    await same((e) => e.contacts.addContact({ uid: a!, peer: b!, greeting: 'x'.repeat(201) }));
    await same((e) => e.contacts.acceptContact(pair(a!, b!)));
    // a asks b (with a greeting), asks again (nothing new), b accepts.
    await same((e) => e.contacts.addContact({ uid: a!, peer: b!, greeting: 'hi, it is a' }));
    await same((e) => e.contacts.addContact({ uid: a!, peer: b! }));
    await same((e) => e.contacts.getContacts({ uid: a! }));
    await same((e) => e.contacts.getContacts({ uid: b! }));
    await same((e) => e.contacts.acceptContact(pair(b!, a!)));
    await same((e) => e.contacts.acceptContact(pair(b!, a!)));
    await same((e) => e.contacts.addContact({ uid: a!, peer: b! }));
    // c asks a, a asks c back: added at once.
    await same((e) => e.contacts.addContact({ uid: c!, peer: a!, greeting: '' }));
    await same((e) => e.contacts.addContact({ uid: a!, peer: c! }));
    // d asks a, a declines; f asks a, a blocks f (the request goes), f's new request is refused.
    await same((e) => e.contacts.addContact({ uid: d!, peer: a! }));
    await same((e) => e.contacts.declineContact(pair(a!, d!)));
    await same((e) => e.contacts.addContact({ uid: f!, peer: a! }));
    await same((e) => e.contacts.blockUser(pair(a!, f!)));
    await same((e) => e.contacts.blockUser(pair(a!, f!)));
    await same((e) => e.contacts.addContact({ uid: f!, peer: a! }));
    await same((e) => e.contacts.blockUser(pair(a!, 'u_ghost')));
    // a removes b from its list; b still lists a, so a's new request adds at once.
    await same((e) => e.contacts.deleteContact(pair(a!, b!)));
    await same((e) => e.contacts.getContacts({ uid: a! }));
    await same((e) => e.contacts.addContact({ uid: a!, peer: b! }));
    await same((e) => e.contacts.deleteContact(pair(c!, a!)));
    await same((e) => e.contacts.acceptContact(pair(c!, a!)));
    for (const u of users) await same((e) => e.contacts.getContacts({ uid: u }));
    await same((e) => e.contacts.getContacts({ uid: 7 as never }));
    await same((e) => e.contacts.unblockUser(pair(a!, f!)));
    await same((e) => e.contacts.getContacts({ uid: a! }));
    await sameInboxes();

    // What the inbox's send checks ask.
    expect(await pgContacts.mutual(db, P(a!), P(b!))).toBe(true);
    expect(await pgContacts.mutual(db, P(a!), P(d!))).toBe(false);
    await same((e) => e.contacts.deleteContact(pair(b!, a!)));
    expect(await pgContacts.mutual(db, P(a!), P(b!))).toBe(false);
    expect(await pgContacts.mutual(db, P(b!), P(a!))).toBe(false);
    await same((e) => e.contacts.acceptContact(pair(b!, a!)));
    expect(await pgContacts.mutual(db, P(a!), P(b!))).toBe(true);
    await same((e) => e.contacts.blockUser(pair(d!, c!)));
    expect(await pgContacts.blocks(db, P(d!), P(c!))).toBe(true);
    expect(await pgContacts.blocks(db, P(c!), P(d!))).toBe(false);
    await db.tx(async (tx) => expect(await pgContacts.blocks(tx, P(d!), P(c!))).toBe(true));
    await same((e) => e.contacts.unblockUser(pair(d!, c!)));
    expect(await pgContacts.blocks(db, P(d!), P(c!))).toBe(false);
    await sameInboxes();
  });

  it('two users asking each other at once become contacts, as with one writer', async () => {
    const [, , , d, f] = users;
    const [r1, r2] = await Promise.all([pgs.addContact({ uid: P(d!), peer: P(f!) }), pgs.addContact({ uid: P(f!), peer: P(d!) })]);
    expect([r1.status, r2.status].sort()).toEqual(['added', 'requested']);
    expect(await pgContacts.mutual(db, P(d!), P(f!))).toBe(true);
    const list = await pgs.getContacts({ uid: P(d!) });
    expect(list.incoming).toEqual([]);
    expect(list.outgoing).toEqual([]);
    // SQLite in step, in the order PostgreSQL took them: the same inboxes.
    const [first, second] = r1.status === 'requested' ? [d!, f!] : [f!, d!];
    await sq.store.addContact({ uid: first, peer: second });
    await sq.store.addContact({ uid: second, peer: first });
    await sameInboxes();
  });

  it('requests crossing each other, again and again: always one request and one add (the pair is locked)', async () => {
    // Users of PostgreSQL only (the inboxes compared with SQLite are those of `users`).
    const [x, y] = await storeUsers(pgs, 2, 'cross');
    for (let round = 0; round < 15; round++) {
      const [r1, r2] = await Promise.all([pgs.addContact({ uid: x!, peer: y! }), pgs.addContact({ uid: y!, peer: x! })]);
      expect({ round, statuses: [r1.status, r2.status].sort() }).toEqual({ round, statuses: ['added', 'requested'] });
      expect(await pgContacts.mutual(db, x!, y!)).toBe(true);
      await Promise.all([pgs.deleteContact({ uid: x!, peer: y! }), pgs.deleteContact({ uid: y!, peer: x! })]);
    }
  });

  it('search statements can use the trigram index (messages_text_trgm)', async () => {
    const plan = async (sql: string, pattern: string) =>
      db.tx(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [pgUsers[0], pattern, null, null, 20]);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    expect(await plan(SEARCH_SQL.ilike, '%hello%')).toContain('messages_text_trgm');
    expect(await plan(SEARCH_SQL.regex, '[éÉ]clair')).toContain('messages_text_trgm');
  });

  it('groups: create, add, remove, owner handover, limits, refusals; versions and fan-out', async () => {
    const [a, b, c, d, f, h] = users;
    hooks.length = 0;
    await same((e) => e.contacts.createGroup({ owner: a!, name: '', members: [] }));
    await same((e) => e.contacts.createGroup({ owner: a!, name: 'x', members: [b!, 'u_ghost', 'u_ghost2'] }));
    await same((e) => e.contacts.createGroup({ owner: 'u_ghost', name: 'x', members: [b!] }));
    await same((e) => e.contacts.createGroup({ owner: a!, name: 'x', members: [b!, c!, d!, f!] }));
    await same((e) => e.contacts.createGroup({ owner: a!, name: 'x', members: 'b' as never }));
    await group('team', a!, [b!, c!, b!, a!]);
    await group('solo', h!, []);
    await same((e) => e.contacts.getGroup({ uid: c!, groupId: g(e, 'team') }));
    await same((e) => e.contacts.getGroup({ uid: d!, groupId: g(e, 'team') }));
    await same((e) => e.contacts.getGroup({ uid: a!, groupId: 'g_nope' }));
    await same((e) => e.contacts.getGroup({ uid: a!, groupId: 5 as never }));
    await same((e) => e.contacts.addGroupMembers({ by: d!, groupId: g(e, 'team'), members: [d!] }));
    await same((e) => e.contacts.addGroupMembers({ by: a!, groupId: g(e, 'team'), members: [d!, f!] }));
    await same((e) => e.contacts.addGroupMembers({ by: a!, groupId: g(e, 'team'), members: ['u_ghost'] }));
    await same((e) => e.contacts.addGroupMembers({ by: a!, groupId: g(e, 'team'), members: [b!] }));
    await same((e) => e.contacts.addGroupMembers({ by: b!, groupId: g(e, 'team'), members: [d!, d!] }));
    await same((e) => e.send({ from: c!, groupId: g(e, 'team'), text: 'before the change' }));
    await same((e) => e.contacts.removeGroupMembers({ by: b!, groupId: g(e, 'team'), members: [c!] }));
    await same((e) => e.contacts.removeGroupMembers({ by: a!, groupId: g(e, 'team'), members: ['u_other'] }));
    // The owner leaves: the longest member (b) owns it.
    await same((e) => e.contacts.removeGroupMembers({ by: a!, groupId: g(e, 'team'), members: [a!, c!] }));
    await same((e) => e.contacts.getGroup({ uid: b!, groupId: g(e, 'team') }));
    await same((e) => e.contacts.getGroup({ uid: a!, groupId: g(e, 'team') }));
    await same((e) => e.send({ from: d!, groupId: g(e, 'team'), text: 'after the change' }));
    await same((e) => e.send({ from: a!, groupId: g(e, 'team'), text: 'not any more' }));
    await same((e) => e.send({ from: h!, groupId: g(e, 'solo'), text: 'alone' }));
    await same((e) => e.contacts.removeGroupMembers({ by: d!, groupId: g(e, 'team'), members: [d!] }));
    await same((e) => e.contacts.removeGroupMembers({ by: b!, groupId: g(e, 'team'), members: [b!] }));
    await same((e) => e.contacts.getGroup({ uid: b!, groupId: g(e, 'team') }));
    await sameInboxes();

    // Every fan-out done: only the current versions remain, holding nothing.
    const versions = await db.query<{ group_id: string; version: number; pending_jobs: number }>(
      'SELECT group_id, version, pending_jobs FROM group_versions ORDER BY group_id, version',
    );
    const current = await db.query<{ group_id: string; version: number }>('SELECT group_id, version FROM groups ORDER BY group_id');
    expect(versions).toEqual(current.map((r) => ({ ...r, pending_jobs: 0 })));
    expect(current.find((r) => r.group_id === postgres.gids.get('team'))!.version).toBe(5);
    // The group webhooks: one job per event, in the transactions above; each delivered to the endpoint (in any order).
    const jobs = await db.query<{ id: number }>(`SELECT id FROM jobs WHERE topic = 'webhook' ORDER BY id`);
    expect(jobs).toHaveLength(6);
    await waitFor(() => hooks.length >= 6, 10_000, { what: 'six webhook deliveries' });
    hooks.sort((x, y) => x.delivery - y.delivery);
    expect(hooks.map((h) => h.delivery)).toEqual(jobs.map((j) => j.id));
    expect(hooks.map((h) => h.event)).toEqual([
      'group.created',
      'group.created',
      'group.members_added',
      'group.members_removed',
      'group.members_removed',
      'group.members_removed',
    ]);
    expect(hooks[3]!.payload).toEqual({
      kind: 'members_removed',
      groupId: postgres.gids.get('team'),
      by: P(a!),
      members: [P(a!), P(c!)],
      owner: P(b!),
    });
  });

  it('a version is kept while a fan-out job needs it, dropped after', async () => {
    const [a, b, c] = users;
    await group('kept', a!, [b!]);
    await sqlite.settle();
    await postgres.settle();
    const gid = postgres.gids.get('kept')!;
    // PostgreSQL's fan-out worker held, so that its jobs wait.
    await pgs.fanoutWorker.stop();
    await same((e) => e.send({ from: a!, groupId: g(e, 'kept'), text: 'for v1' }));
    await same((e) => e.contacts.addGroupMembers({ by: a!, groupId: g(e, 'kept'), members: [c!] }), false);
    const rows = () => db.query('SELECT version, pending_jobs, members FROM group_versions WHERE group_id = $1 ORDER BY version', [gid]);
    const [pa, pb, pc] = [P(a!), P(b!), P(c!)];
    expect(await rows()).toEqual([
      { version: 1, pending_jobs: 1, members: JSON.stringify([pa, pb]) },
      { version: 2, pending_jobs: 1, members: JSON.stringify([pa, pb, pc]) },
    ]);
    expect(await pgGroups.members(gid, 1)).toEqual([pa, pb]);
    pgs.fanoutWorker.start();
    await postgres.settle();
    expect(await rows()).toEqual([{ version: 2, pending_jobs: 0, members: JSON.stringify([pa, pb, pc]) }]);
    // c got what was posted after it joined, not before.
    const seen = (await postgres.inbox(c!)).filter((m) => m.groupId === gid).map((m) => m.event?.kind ?? m.content);
    expect(seen).toEqual(['members_added']);
    await sameInboxes();
  });

  it('search: what a user may see, scoped, case-insensitive, recalled left out, newest first, limits', async () => {
    const [a, b, c, , , h] = users;
    await group('chat', a!, [b!]);
    const texts: Array<[string, ConversationRef & { from: string }]> = [
      ['Hello World', { from: a!, peer: b! }],
      ['hello again, 50% off_sale', { from: b!, peer: a! }],
      ['Café CRÈME brûlée', { from: a!, peer: b! }],
      ['private hello to c', { from: a!, peer: c! }],
      ['group hello', { from: b!, groupId: 'chat' }],
      ['ÉCLAIR Ωmega', { from: a!, groupId: 'chat' }],
      ['back\\slash and lo', { from: b!, peer: a! }],
      ['recalled hello', { from: a!, peer: b! }],
    ];
    const sent: Record<string, { sqlite?: unknown; pg?: unknown }> = {};
    for (const [text, to] of texts) {
      for (const e of [sqlite, postgres]) {
        // The fan-out of the one before first, on both: the entries land in the same order.
        await e.settle();
        const r = (await e.send({ from: to.from, peer: to.peer, groupId: to.groupId && g(e, to.groupId), text })) as { msgId?: string };
        (sent[text] ??= {})[e.name] = r.msgId;
      }
    }
    await sqlite.settle();
    await postgres.settle();
    // Recall the last one.
    await sqlite.recall(a!, sent['recalled hello']!.sqlite as string);
    await postgres.recall(a!, sent['recalled hello']!.pg as string);

    const search = (uid: string, query: unknown, more: Partial<ConversationRef & { limit: unknown }> = {}) =>
      same((e) =>
        e.contacts.searchMessages({
          uid,
          query: query as string,
          limit: (more.limit ?? 20) as number,
          peer: more.peer,
          groupId: more.groupId && g(e, more.groupId),
        }),
      );
    const contents = (r: unknown) => (r as { ok: { messages: SyncMessage[] } }).ok.messages.map((m) => m.content);

    expect(contents(await search(a!, 'hello'))).toEqual(['group hello', 'private hello to c', 'hello again, 50% off_sale', 'Hello World']);
    expect(contents(await search(b!, 'HELLO'))).toEqual(['group hello', 'hello again, 50% off_sale', 'Hello World']);
    expect(contents(await search(c!, 'hello'))).toEqual(['private hello to c']);
    expect(contents(await search(h!, 'hello'))).toEqual([]);
    expect(contents(await search(a!, 'hello', { peer: b! }))).toEqual(['hello again, 50% off_sale', 'Hello World']);
    expect(contents(await search(a!, 'hello', { groupId: 'chat' }))).toEqual(['group hello']);
    expect(contents(await search(c!, 'hello', { groupId: 'chat' }))).toEqual([]);
    expect(contents(await search(a!, 'hello', { limit: 1 }))).toEqual(['group hello']);
    await search(a!, 'hello', { limit: 0 });
    await search(a!, 'hello', { limit: 1000 });
    await search(a!, 'hello', { limit: 2.7 });
    // Short queries, wildcards taken literally, non-ASCII case folding.
    expect(contents(await search(a!, 'lo'))).toEqual([
      'back\\slash and lo',
      'group hello',
      'private hello to c',
      'hello again, 50% off_sale',
      'Hello World',
    ]);
    await search(a!, 'O');
    await search(a!, 'ω');
    expect(contents(await search(b!, '%'))).toEqual(['hello again, 50% off_sale']);
    expect(contents(await search(b!, '_s'))).toEqual(['hello again, 50% off_sale']);
    expect(contents(await search(b!, '0%'))).toEqual(['hello again, 50% off_sale']);
    expect(contents(await search(b!, 'k\\s'))).toEqual(['back\\slash and lo']);
    expect(contents(await search(b!, 'CAFÉ crème'))).toEqual(['Café CRÈME brûlée']);
    expect(contents(await search(b!, 'é'))).toEqual(['ÉCLAIR Ωmega', 'Café CRÈME brûlée']);
    expect(contents(await search(b!, 'éc'))).toEqual(['ÉCLAIR Ωmega']);
    expect(contents(await search(b!, 'Ûl'))).toEqual(['Café CRÈME brûlée']);
    expect(contents(await search(b!, 'a.*e'))).toEqual([]);
    expect(contents(await search(b!, '[é]'))).toEqual([]);
    expect(contents(await search(b!, 'recalled'))).toEqual([]);
    // Refusals.
    await search(a!, '');
    await search(a!, 'x'.repeat(101));
    await search(a!, '\ud800x');
    await search(a!, 5);
    await search(a!, 'hello', { limit: 'many' });
    await search(a!, 'hello', { peer: 'u_ghost' });
    await search(a!, 'hello', { groupId: 'g_ghost' });
    await search(a!, 'hello', { peer: b!, groupId: 'chat' });
    await same((e) => e.contacts.searchMessages({ uid: 5 as never, query: 'x', limit: 5 }));
  });

  it('concurrent membership changes make consecutive versions; a post waits for none of them to lose its version', async () => {
    // PostgreSQL only, by its own uids.
    await group('busy', users[0]!, []);
    const [a, b, c, d, f] = pgUsers;
    const gid = postgres.gids.get('busy')!;
    const results = await Promise.allSettled([
      pgs.addGroupMembers({ by: a!, groupId: gid, members: [b!] }),
      pgs.addGroupMembers({ by: a!, groupId: gid, members: [c!] }),
      postgres.send({ from: a!, groupId: gid, text: 'in between' }),
      pgs.addGroupMembers({ by: a!, groupId: gid, members: [d!] }),
      postgres.send({ from: a!, groupId: gid, text: 'in between 2' }),
      pgs.addGroupMembers({ by: a!, groupId: gid, members: [f!] }),
    ]);
    // The sends all go through; of the four adds (the group holds four), whichever came last is refused.
    expect([2, 4].map((i) => results[i]!.status)).toEqual(['fulfilled', 'fulfilled']);
    const adds = [b!, c!, d!, f!];
    const refused = [0, 1, 3, 5].filter((i) => results[i]!.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((results[refused[0]!] as PromiseRejectedResult).reason).toMatchObject({ code: 'GROUP_FULL' });
    const outsider = adds[[0, 1, 3, 5].indexOf(refused[0]!)]!;
    const info = await pgs.getGroup({ uid: a!, groupId: gid });
    expect([...info.members].sort()).toEqual([a!, ...adds.filter((u) => u !== outsider)].sort());
    // Three changes: versions 2, 3, 4, none lost to a race.
    expect((await db.query('SELECT version FROM groups WHERE group_id = $1', [gid]))[0]).toEqual({ version: 4 });
    await postgres.settle();
    expect(await db.query('SELECT version, pending_jobs FROM group_versions WHERE group_id = $1', [gid])).toEqual([
      { version: 4, pending_jobs: 0 },
    ]);
    // The owner's inbox has every change and post in commit order: each text reaches exactly the members of its moment.
    const expected = new Map<string, string[]>(adds.map((u) => [u, []]));
    const now = new Set<string>();
    for (const m of (await postgres.inbox(a!)).filter((m) => m.groupId === gid)) {
      if (m.event?.kind === 'members_added') for (const u of m.event.members) now.add(u);
      if (m.type === 'text') for (const u of now) expected.get(u)!.push(m.content!);
    }
    expect([...now].sort()).toEqual(adds.filter((u) => u !== outsider).sort());
    for (const u of adds) {
      const got = (await postgres.inbox(u)).filter((m) => m.groupId === gid && m.type === 'text').map((m) => m.content);
      expect({ u, got }).toEqual({ u, got: expected.get(u) });
    }
    expect((await postgres.inbox(outsider)).some((m) => m.groupId === gid)).toBe(false);
  });
});
