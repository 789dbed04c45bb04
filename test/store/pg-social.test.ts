/**
 * The PostgreSQL engine's contacts, profiles, groups and search
 * (src/store/pg/contacts.ts, groups.ts, search.ts) against the SQLite Store:
 * every call runs on both, with the same users (the same uids), and must
 * answer the same (results, error codes, messages and details; times and
 * ids that are made differently are normalized), and leave the same inboxes.
 * Plus what only several hosts need: concurrent changes of one group make
 * consecutive versions, concurrent contact requests end as one writer's.
 *
 * The inbox and message rows are pg-inbox's parts (parts.ts); until those
 * land, a small implementation of them here (test-only) appends entries and
 * runs the fan-out jobs. Needs PostgreSQL (helpers/postgres.ts): skipped without.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { PgDb, type PgTx } from '../../src/store/pg/db.js';
import { PgContacts } from '../../src/store/pg/contacts.js';
import { PgGroups } from '../../src/store/pg/groups.js';
import { PgSearch, SEARCH_SQL } from '../../src/store/pg/search.js';
import type { PgInboxPart, PgMessagesPart, WebhookSink } from '../../src/store/pg/parts.js';
import type { MessageFacts, NewMessage, StoredMessage } from '../../src/store/message-rows.js';
import type { MessageFanoutJob } from '../../src/store/queue/fanout.js';
import type { Store } from '../../src/store/store.js';
import type { ConversationRef, SyncMessage, SyncResult } from '../../src/store/api.js';
import { msgIdOf } from '../../src/store/ids.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from '../../src/store/message-view.js';
import { openStore, readAll, storeUsers, type Opened } from './support.js';

pgSkipNote('pg-social.test');

const MAX_MEMBERS = 4;

/** Test-only inbox: dense seqs from inbox_heads, entries without conversation rows. */
class TestInbox implements PgInboxPart {
  constructor(private readonly db: PgDb) {}
  async append(tx: PgTx, uid: string, m: MessageFacts): Promise<number> {
    const { rows } = await tx.query<{ last_seq: number }>(
      `INSERT INTO inbox_heads (uid, last_seq) VALUES ($1, 1)
       ON CONFLICT (uid) DO UPDATE SET last_seq = inbox_heads.last_seq + 1 RETURNING last_seq`,
      [uid],
    );
    const seq = rows[0]!.last_seq;
    await tx.query('INSERT INTO inbox (uid, seq, msg_id, prev) VALUES ($1, $2, $3, NULL)', [uid, seq, m.id]);
    tx.wake(uid);
    return seq;
  }
  async read(uid: string, syncKey: number, limit: number): Promise<SyncResult> {
    const cols = ENTRY_COLUMNS.replace(/\s+/g, ' ');
    const rows = await this.db.query(
      `SELECT i.seq, ${cols} FROM inbox i JOIN messages m ON m.id = i.msg_id WHERE i.uid = $1 AND i.seq > $2 ORDER BY i.seq LIMIT $3`,
      [uid, syncKey, limit + 1],
    );
    const continueFlag = rows.length > limit;
    if (continueFlag) rows.pop();
    const entries = rows.map((r) => Object.values(r) as EntryRow);
    return {
      messages: entries.map((e) => toSyncMessage(e, uid)),
      syncKey: entries.length ? entries[entries.length - 1]![0] : syncKey,
      continueFlag,
    };
  }
  async lastSeq(uid: string): Promise<number> {
    return (await this.db.query<{ s: number }>('SELECT COALESCE(max(last_seq), 0) AS s FROM inbox_heads WHERE uid = $1', [uid]))[0]!.s;
  }
}

/** Test-only message rows. */
class TestMessages implements PgMessagesPart {
  constructor(private readonly db: PgDb) {}
  async insert(tx: PgTx, m: NewMessage): Promise<MessageFacts> {
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO messages (from_uid, to_uid, group_id, type, content, media_id, duration_ms, event, client_msg_id, sender_seq, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [
        m.from,
        m.to,
        m.groupId,
        m.type,
        m.content,
        m.mediaId,
        m.durationMs,
        m.event === null ? null : JSON.stringify(m.event),
        m.clientMsgId,
        m.senderSeq,
        m.createdAt,
      ],
    );
    return { id: rows[0]!.id, from: m.from, to: m.to, groupId: m.groupId, type: m.type, kind: m.event?.kind ?? null };
  }
  async get(id: number): Promise<StoredMessage | undefined> {
    const r = (
      await this.db.query<Record<string, never>>(
        `SELECT id, from_uid, to_uid, group_id, type, event::json ->> 'kind' AS kind, media_id, created_at, recalled_at FROM messages WHERE id = $1`,
        [id],
      )
    )[0];
    if (!r) return undefined;
    return {
      id: r.id,
      from: r.from_uid,
      to: r.to_uid,
      groupId: r.group_id,
      type: r.type,
      kind: r.kind,
      mediaId: r.media_id,
      createdAt: r.created_at,
      recalledAt: r.recalled_at,
    };
  }
}

/** What both engines are driven through. `gid` names a group by the test's name for it. */
interface Engine {
  name: 'sqlite' | 'pg';
  contacts: Pick<
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
  send(a: { from: string; text: string } & ConversationRef): Promise<unknown>;
  recall(uid: string, msgId: string): Promise<void>;
  /** Runs the fan-out until no job waits. */
  settle(): Promise<void>;
  inbox(uid: string): Promise<SyncMessage[]>;
  gids: Map<string, string>;
}

let sq: Opened;
let db: PgDb;
let dropDb: () => Promise<void>;
let users: string[];
const hooks: Array<{ event: string; payload: unknown }> = [];
let pgContacts: PgContacts;
let pgGroups: PgGroups;
let sqlite: Engine;
let postgres: Engine;
/** Per engine: message ids in the order first seen (ids may be made differently). */
const msgIds = { sqlite: new Map<string, string>(), pg: new Map<string, string>() };

async function pgFanout(inbox: TestInbox, messages: TestMessages): Promise<void> {
  for (;;) {
    const jobs = await db.query<{ id: number; payload: string }>(
      `SELECT id, payload FROM jobs WHERE topic = 'fanout' AND state = 'pending' ORDER BY id LIMIT 50`,
    );
    if (jobs.length === 0) return;
    for (const j of jobs) {
      await db.tx(async (tx) => {
        const job = JSON.parse(j.payload) as MessageFanoutJob;
        const m = (await messages.get(job.m))!;
        for (const uid of await pgGroups.members(job.g, job.v)) if (uid !== job.x) await inbox.append(tx, uid, m);
        await tx.query(`UPDATE jobs SET state = 'done' WHERE id = $1`, [j.id]);
        await pgGroups.release(tx, job.g, job.v);
      });
    }
  }
}

/** Times become 'T'; group ids the test's name; message ids their order of first appearance. */
function normal(e: Engine, v: unknown): unknown {
  const names = new Map([...e.gids].map(([k, id]) => [id, k]));
  const ids = msgIds[e.name];
  return JSON.parse(
    JSON.stringify(v, (k, x) => {
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
 * the (normalized) answer. First both fan-outs catch up (SQLite's runs on its
 * own, the test's only when asked), unless `settled` is false.
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

describe.skipIf(PG_SKIP)('PostgreSQL contacts, profiles, groups, search: the same answers as SQLite', () => {
  beforeAll(async () => {
    requirePg();
    const fresh = await freshDatabase('cgihost_social');
    dropDb = fresh.drop;
    db = await PgDb.open({ url: fresh.url, max: 8 });
    sq = openStore({ groupsMaxMembers: MAX_MEMBERS });
    users = await storeUsers(sq.store, 6, 'soc');
    for (const [i, uid] of users.entries()) {
      await db.query('INSERT INTO users (uid, username, password_hash, created_at) VALUES ($1, $2, $3, $4)', [uid, `soc_${i}`, 'hash', 1]);
    }
    const inbox = new TestInbox(db);
    const messages = new TestMessages(db);
    const sink: WebhookSink = {
      wants: (event) => event.startsWith('group.'),
      emit: async (_tx, event, payload) => void hooks.push({ event, payload }),
    };
    pgContacts = new PgContacts(db, inbox, messages);
    pgGroups = new PgGroups(db, inbox, messages, sink, MAX_MEMBERS);
    const pgSearch = new PgSearch(db);
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
    postgres = {
      name: 'pg',
      contacts: {
        setProfile: (a) => pgContacts.setProfile(a),
        getProfiles: (a) => pgContacts.getProfiles(a),
        findUser: (a) => pgContacts.findUser(a),
        addContact: (a) => pgContacts.addContact(a),
        acceptContact: (a) => pgContacts.acceptContact(a),
        declineContact: (a) => pgContacts.declineContact(a),
        deleteContact: (a) => pgContacts.deleteContact(a),
        getContacts: (a) => pgContacts.getContacts(a),
        blockUser: (a) => pgContacts.blockUser(a),
        unblockUser: (a) => pgContacts.unblockUser(a),
        createGroup: (a) => pgGroups.createGroup(a),
        addGroupMembers: (a) => pgGroups.addGroupMembers(a),
        removeGroupMembers: (a) => pgGroups.removeGroupMembers(a),
        getGroup: (a) => pgGroups.getGroup(a),
        searchMessages: (a) => pgSearch.searchMessages(a),
      },
      // A send as messages.ts writes it (the checks of a send are pg-inbox's, not tested here).
      send: (a) =>
        db.tx(async (tx) => {
          const version = a.groupId ? await pgGroups.versionForPost(tx, a.groupId, a.from) : 0;
          const m = await messages.insert(tx, {
            from: a.from,
            to: a.peer ?? null,
            groupId: a.groupId ?? null,
            type: 'text',
            content: a.text,
            mediaId: null,
            durationMs: null,
            event: null,
            clientMsgId: clientId(a.text),
            senderSeq: null,
            createdAt: tx.now,
          });
          const seq = await inbox.append(tx, a.from, m);
          await tx.query('UPDATE messages SET sender_seq = $1 WHERE id = $2', [seq, m.id]);
          if (a.groupId) await pgGroups.fanOut(tx, a.groupId, version, m, null);
          else await inbox.append(tx, a.peer!, m);
          return { msgId: msgIdOf(m.id), seq, createdAt: tx.now };
        }),
      recall: async (_uid, msgId) => {
        await db.query('UPDATE messages SET recalled_at = $1, content = NULL WHERE id = $2', [Date.now(), parseInt(msgId.slice(1), 36)]);
      },
      settle: () => pgFanout(inbox, messages),
      inbox: async (uid) => {
        const all: SyncMessage[] = [];
        for (let key = 0; ;) {
          const r = await inbox.read(uid, key, 500);
          all.push(...r.messages);
          key = r.syncKey;
          if (!r.continueFlag) return all;
        }
      },
      gids: new Map(),
    };
  });

  afterAll(async () => {
    await sq?.cleanup();
    await db?.close();
    await dropDb?.();
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
      await db.query('INSERT INTO media (media_id, kind, content_type, size, created_at) VALUES ($1, $2, $3, 5, 1)', [
        id,
        kind,
        'application/octet-stream',
      ]);
      await db.query('INSERT INTO media_access (media_id, uid, msg_id) VALUES ($1, $2, 0)', [id, a]);
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
    expect(await pgContacts.mutual(db, a!, b!)).toBe(true);
    expect(await pgContacts.mutual(db, a!, d!)).toBe(false);
    await same((e) => e.contacts.deleteContact(pair(b!, a!)));
    expect(await pgContacts.mutual(db, a!, b!)).toBe(false);
    expect(await pgContacts.mutual(db, b!, a!)).toBe(false);
    await same((e) => e.contacts.acceptContact(pair(b!, a!)));
    expect(await pgContacts.mutual(db, a!, b!)).toBe(true);
    await same((e) => e.contacts.blockUser(pair(d!, c!)));
    expect(await pgContacts.blocks(db, d!, c!)).toBe(true);
    expect(await pgContacts.blocks(db, c!, d!)).toBe(false);
    await db.tx(async (tx) => expect(await pgContacts.blocks(tx, d!, c!)).toBe(true));
    await same((e) => e.contacts.unblockUser(pair(d!, c!)));
    expect(await pgContacts.blocks(db, d!, c!)).toBe(false);
    await sameInboxes();
  });

  it('two users asking each other at once become contacts, as with one writer', async () => {
    const [, , , d, f] = users;
    const [r1, r2] = await Promise.all([pgContacts.addContact({ uid: d!, peer: f! }), pgContacts.addContact({ uid: f!, peer: d! })]);
    expect([r1.status, r2.status].sort()).toEqual(['added', 'requested']);
    expect(await pgContacts.mutual(db, d!, f!)).toBe(true);
    const list = await pgContacts.getContacts({ uid: d! });
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
    const [x, y] = ['ux_cross_1', 'ux_cross_2'];
    for (const [i, uid] of [x, y].entries()) {
      await db.query('INSERT INTO users (uid, username, password_hash, created_at) VALUES ($1, $2, $3, $4)', [
        uid,
        `cross_${i}`,
        'hash',
        1,
      ]);
    }
    for (let round = 0; round < 15; round++) {
      const [r1, r2] = await Promise.all([pgContacts.addContact({ uid: x, peer: y }), pgContacts.addContact({ uid: y, peer: x })]);
      expect({ round, statuses: [r1.status, r2.status].sort() }).toEqual({ round, statuses: ['added', 'requested'] });
      expect(await pgContacts.mutual(db, x, y)).toBe(true);
      await Promise.all([pgContacts.deleteContact({ uid: x, peer: y }), pgContacts.deleteContact({ uid: y, peer: x })]);
    }
  });

  it('search statements can use the trigram index (messages_text_trgm)', async () => {
    const plan = async (sql: string, pattern: string) =>
      db.tx(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [users[0], pattern, null, null, 20]);
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
    expect(hooks.map((h) => h.event)).toEqual([
      'group.created',
      'group.created',
      'group.members_added',
      'group.members_removed',
      'group.members_removed',
      'group.members_removed',
    ]);
    expect(hooks[3]!.payload).toEqual({ kind: 'members_removed', groupId: postgres.gids.get('team'), by: a, members: [a, c], owner: b });
  });

  it('a version is kept while a fan-out job needs it, dropped after', async () => {
    const [a, b, c] = users;
    await group('kept', a!, [b!]);
    await sqlite.settle();
    await postgres.settle();
    const gid = postgres.gids.get('kept')!;
    await same((e) => e.send({ from: a!, groupId: g(e, 'kept'), text: 'for v1' }));
    await same((e) => e.contacts.addGroupMembers({ by: a!, groupId: g(e, 'kept'), members: [c!] }), false);
    const rows = () => db.query('SELECT version, pending_jobs, members FROM group_versions WHERE group_id = $1 ORDER BY version', [gid]);
    expect(await rows()).toEqual([
      { version: 1, pending_jobs: 1, members: JSON.stringify([a, b]) },
      { version: 2, pending_jobs: 1, members: JSON.stringify([a, b, c]) },
    ]);
    expect(await pgGroups.members(gid, 1)).toEqual([a, b]);
    await postgres.settle();
    expect(await rows()).toEqual([{ version: 2, pending_jobs: 0, members: JSON.stringify([a, b, c]) }]);
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
    // Recall the last one (its msgId on SQLite; on PG it is the newest text row).
    await sqlite.recall(a!, sent['recalled hello']!.sqlite as string);
    const last = (await db.query<{ id: number }>(`SELECT max(id) AS id FROM messages WHERE type = 'text'`))[0]!.id;
    await postgres.recall(a!, `m${last.toString(36)}`);

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
    const [a, b, c, d, f] = users;
    await group('busy', a!, []);
    const gid = postgres.gids.get('busy')!;
    const results = await Promise.allSettled([
      pgGroups.addGroupMembers({ by: a!, groupId: gid, members: [b!] }),
      pgGroups.addGroupMembers({ by: a!, groupId: gid, members: [c!] }),
      postgres.send({ from: a!, groupId: gid, text: 'in between' }),
      pgGroups.addGroupMembers({ by: a!, groupId: gid, members: [d!] }),
      postgres.send({ from: a!, groupId: gid, text: 'in between 2' }),
      pgGroups.addGroupMembers({ by: a!, groupId: gid, members: [f!] }),
    ]);
    // The sends all go through; of the four adds (the group holds four), whichever came last is refused.
    expect([2, 4].map((i) => results[i]!.status)).toEqual(['fulfilled', 'fulfilled']);
    const adds = [b!, c!, d!, f!];
    const refused = [0, 1, 3, 5].filter((i) => results[i]!.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((results[refused[0]!] as PromiseRejectedResult).reason).toMatchObject({ code: 'GROUP_FULL' });
    const outsider = adds[[0, 1, 3, 5].indexOf(refused[0]!)]!;
    const info = await pgGroups.getGroup({ uid: a!, groupId: gid });
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
