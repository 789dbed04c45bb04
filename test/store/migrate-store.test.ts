/**
 * `cgihost migrate-store` (SPEC §9) end to end: a real host makes real data
 * over HTTP (accounts and sessions, 1:1 and group messages, a recall, a
 * contact, a pending request, a block, a profile with an avatar, a read mark,
 * media, ctx.kv, a pending queue job and a dead letter, a schedule run), is
 * stopped, and the CLI copies its data dir into a fresh PostgreSQL database;
 * then every SQLite table is compared with its PostgreSQL table row for row.
 * And the refusals: a running host, a second copy into the same database
 * (the target unchanged), a schema not at the latest migration, bad and
 * unreachable URLs. Needs PostgreSQL (helpers/postgres.ts): skipped without.
 */
import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newUsers,
  PROJECT_CGIS,
  runCli,
  startHost,
  tempDir,
  waitFor,
  writeCgis,
  type ApiResponse,
  type RunningHost,
  type User,
} from '../helpers/index.js';
import { freshDatabase, PG_SKIP, PG_URL, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { createSchema, ensureSchema, PG_SCHEMA_VERSION, PG_TABLES, type PgTable } from '../../src/store/pg/schema.js';
import { migrateStore, PG_ONLY_COLUMNS, type MigrateProgress } from '../../src/store/pg/migrate.js';
import { png } from '../media/files.js';
import { adminPost, kv, topic } from '../platform/support.js';

pgSkipNote('migrate-store.test');

/** SQLite tables that have no PostgreSQL table (the FTS5 search index and its cursor). */
const SQLITE_ONLY = /^(msg_trigram|msg_short)(_|$)|^search_cursor$|^sqlite_/;
/** Tables every copy here must have rows in: the data below makes them all, so an empty one means the test made nothing. */
// Every table the copy fills from SQLite must get rows from the test's data (inbox_heads is derived from inbox).
const MUST_HAVE_ROWS = PG_TABLES.filter((t) => t !== 'inbox_heads');

const MIGRATE_MS = 60_000;

let host: RunningHost;
let dataDir: string;
let users: User[];
const databases: Array<{ url: string; drop(): Promise<void> }> = [];

async function database(): Promise<string> {
  const db = await freshDatabase('cgihost_migrate');
  databases.push(db);
  return db.url;
}

function ok(res: ApiResponse, what: string): ApiResponse {
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res;
}

async function call(user: User, cgi: string, body: unknown): Promise<ApiResponse> {
  return ok(await host.post(cgi, body, { token: user.token }), cgi);
}

/** Every row of a SQLite table, each as a list of normalised values, sorted. */
function sqliteRows(file: string, table: string): { columns: string[]; rows: string[] } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const stmt = db.prepare(`SELECT * FROM ${table}`).raw(true).safeIntegers(true);
    const columns = stmt.columns().map((c) => c.name);
    return { columns, rows: (stmt.all() as unknown[][]).map((r) => JSON.stringify(r.map(norm))).sort() };
  } finally {
    db.close();
  }
}

async function pgQuery<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  sql: string,
  values?: unknown[],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

/** PostgreSQL's type ids of int8, int2 and int4: pg returns int8 as a decimal string. */
const PG_INTEGER_TYPES = new Set([20, 21, 23]);

/** Every row of a PostgreSQL table, normalised as sqliteRows does (booleans as SQLite's 0/1), sorted. */
async function pgRows(url: string, table: string): Promise<{ columns: string[]; rows: string[] }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query({ text: `SELECT * FROM "${table}"`, rowMode: 'array' });
    // The engine's own columns (job leases) have no SQLite counterpart: a copy leaves them empty.
    const keep = r.fields.map((f) => !PG_ONLY_COLUMNS[table as PgTable]?.includes(f.name));
    const ints = r.fields.map((f) => PG_INTEGER_TYPES.has(f.dataTypeID));
    return {
      columns: r.fields.filter((_, i) => keep[i]).map((f) => f.name),
      rows: (r.rows as unknown[][])
        .map((row) => JSON.stringify(row.flatMap((v, i) => (keep[i] ? [norm(ints[i] && v !== null ? BigInt(v as string) : v)] : []))))
        .sort(),
    };
  } finally {
    await c.end();
  }
}

/** One value as text both sides agree on: integers as decimals, booleans as 0/1, bytes as hex, text as itself. */
function norm(v: unknown): unknown {
  if (v === null) return null;
  if (typeof v === 'bigint' || typeof v === 'number') return `i:${v}`;
  if (typeof v === 'boolean') return `i:${v ? 1 : 0}`;
  if (Buffer.isBuffer(v)) return `x:${v.toString('hex')}`;
  if (typeof v === 'string') return `s:${v}`;
  throw new Error(`unexpected value ${String(v)}`);
}

async function tableCounts(url: string): Promise<Record<string, number>> {
  const tables = await pgQuery<{ table_name: string }>(
    url,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
  );
  const out: Record<string, number> = {};
  for (const { table_name } of tables) {
    out[table_name] = Number((await pgQuery<{ n: string }>(url, `SELECT COUNT(*) AS n FROM "${table_name}"`))[0]!.n);
  }
  return out;
}

describe.skipIf(PG_SKIP)('cgihost migrate-store (PostgreSQL)', () => {
  beforeAll(async () => {
    requirePg();
    // The project's CGIs, and the platform fixtures for ctx.kv, a consumer that dead-letters, and a schedule.
    const cgisDir = tempDir('cgihost-cgis-');
    cpSync(PROJECT_CGIS, cgisDir, { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
    writeCgis(cgisDir, { 'q/kv.ts': '@platform/kv.ts', 'q/flaky.ts': '@platform/flaky.ts', 'q/ticker.ts': '@platform/ticker.ts' });
    host = await startHost({ cgisDir, config: { watch: false, queue: { backoffBaseMs: 50, backoffMaxMs: 200 } } });
    dataDir = host.dataDir;
    users = await newUsers(host, 3, 'mig');
    const [a, b, c] = users as [User, User, User];
    // A second session of a, and a third one ended (its row deleted).
    const second = ok(await host.post('login', { username: a.username, password: a.password, deviceId: 'phone' }), 'login');
    const third = ok(await host.post('login', { username: b.username, password: b.password }), 'login');
    await call({ ...b, token: third.body.token }, 'logout', {});
    expect(second.body.token).toBeTruthy();
    // Contacts: a and b are contacts, c's request to a waits, c blocks b.
    await call(a, 'addcontact', { uid: b.uid, greeting: 'hi b' });
    await call(b, 'acceptcontact', { uid: a.uid });
    await call(c, 'addcontact', { uid: a.uid, greeting: 'hello' });
    await call(c, 'blockuser', { uid: b.uid });
    // 1:1 messages, one recalled; a read mark.
    const sent = [];
    for (let i = 0; i < 5; i++)
      sent.push((await call(a, 'sendmsg', { to: b.uid, type: 'text', content: `a to b ${i} ✓`, clientMsgId: `ab${i}` })).body);
    await call(b, 'sendmsg', { to: a.uid, type: 'text', content: 'b to a', clientMsgId: 'ba0' });
    await call(a, 'recallmsg', { msgId: sent[4].msgId });
    await call(b, 'markread', { peer: a.uid, seq: sent[2].seq });
    // A group of three with a message (fan-out through the queue).
    const group = (await call(a, 'creategroup', { name: 'migrators', members: [b.uid, c.uid] })).body;
    await call(b, 'sendmsg', { groupId: group.groupId, type: 'text', content: 'to the group', clientMsgId: 'g0' });
    // Media: an upload sent as an image, and a's avatar.
    const up = await fetch(`${host.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', authorization: `Bearer ${a.token}` },
      body: new Uint8Array(png()),
    });
    expect(up.status).toBe(200);
    const { mediaId } = (await up.json()) as { mediaId: string };
    await call(a, 'sendmediamsg', { to: b.uid, type: 'image', mediaId, clientMsgId: 'img0' });
    await call(a, 'setprofile', { displayName: 'Ann Migrant', avatarMediaId: mediaId });
    // ctx.kv: a plain entry, one that expires, a sum; a job due in an hour (pending), one that dead-letters.
    await kv(host, 'kv', { op: 'set', key: ['k', 1], value: { x: 1, s: 'é' } });
    await kv(host, 'kv', { op: 'set', key: ['k', 'two'], value: [1, 2], expireInMs: 3_600_000 });
    await kv(host, 'kv', { op: 'atomic', atomic: { sums: [{ key: ['n'], n: 5 }] } });
    await kv(host, 'kv', { op: 'send', topic: 'flaky', payload: { id: 'later' }, delayMs: 3_600_000 });
    await kv(host, 'kv', { op: 'send', topic: 'flaky', payload: { id: 'dead' } });
    await waitFor(async () => (await topic(host, 'flaky'))?.deadLetters === 1, 20_000, { what: 'a dead letter' });
    // A schedule run, finished.
    expect((await adminPost(host, '/_host/api/schedules/ticker/run')).status).toBe(200);
    await waitFor(
      async () => {
        const s = await host.get('/_host/api/schedules');
        return JSON.stringify(s.body).includes('finishedAt');
      },
      20_000,
      { what: 'the schedule run to finish' },
    );
  }, 180_000);

  afterAll(async () => {
    await host?.kill();
    for (const db of databases) await db.drop().catch(() => {});
  });

  it('refuses while the host is running (STORE_IN_USE), and writes nothing to the target', async () => {
    const url = await database();
    const r = await runCli(['migrate-store', '--to', url, '--data-dir', dataDir], { timeoutMs: MIGRATE_MS });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cgihost: the database .*cgihost\.db is in use: a host .* is running on/);
    expect(r.stderr).toMatch(/stop the host/);
    expect(await tableCounts(url)).toEqual({});
  });

  it('copies the stopped install: every table row for row, with progress lines and a summary', async () => {
    expect(await host.stop()).toBe(0);
    const url = await database();
    const r = await runCli(['migrate-store', '--to', url, '--data-dir', dataDir], { timeoutMs: MIGRATE_MS });
    expect(r.code, r.stderr).toBe(0);
    // Progress: a line per table (all of them are small: one batch each), on stderr.
    expect(r.stderr).toMatch(/^migrate-store: users: 3\/3 rows done$/m);
    expect(r.stderr).toMatch(/^migrate-store: messages: \d+\/\d+ rows done$/m);
    expect(r.stderr).toMatch(/^migrate-store: jobs: \d+\/\d+ rows done$/m);
    // The summary: rows per table, seconds, the media folder.
    expect(r.stdout).toMatch(
      /^copied \d+ rows in \d+\.\d s into postgres:\/\/postgres@127\.0\.0\.1:\d+\/cgihost_migrate_\w+ \(one transaction\):$/m,
    );
    expect(r.stdout).toMatch(/^ {2}users +3$/m);
    expect(r.stdout).toContain(`they stay in ${join(dataDir, 'media')}`);
    expect(readdirSync(join(dataDir, 'media')).length).toBeGreaterThan(0);

    const file = join(dataDir, 'cgihost.db');
    const sqliteTables = (() => {
      const db = new Database(file, { readonly: true });
      try {
        return db
          .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
          .pluck()
          .all()
          .filter((t) => !SQLITE_ONLY.test(t));
      } finally {
        db.close();
      }
    })();
    const counts = await tableCounts(url);
    // Every SQLite table has its PostgreSQL table; PostgreSQL adds inbox_heads, schema_version and the shared throttle only.
    expect(Object.keys(counts).sort()).toEqual([...sqliteTables, 'inbox_heads', 'schema_version', 'throttle'].sort());
    for (const t of MUST_HAVE_ROWS) expect(counts[t], `${t} has rows (the test made them)`).toBeGreaterThan(0);
    for (const table of sqliteTables) {
      const want = sqliteRows(file, table);
      const got = await pgRows(url, table);
      expect(got.columns, table).toEqual(want.columns);
      expect(got.rows, table).toEqual(want.rows);
    }

    // What the data must show, read from PostgreSQL: the kinds of rows the comparison covered.
    const jobs = await pgQuery<{ state: string; topic: string }>(url, 'SELECT state, topic FROM jobs');
    expect(jobs).toContainEqual({ state: 'dead', topic: 'flaky' });
    expect(jobs).toContainEqual({ state: 'pending', topic: 'flaky' });
    expect(await pgQuery(url, 'SELECT COUNT(*)::int AS n FROM messages WHERE recalled_at IS NOT NULL')).toEqual([{ n: 1 }]);
    expect(await pgQuery(url, `SELECT COUNT(*)::int AS n FROM users WHERE display_name = 'Ann Migrant'`)).toEqual([{ n: 1 }]);
    expect((await pgQuery(url, 'SELECT DISTINCT is_group FROM conversations ORDER BY 1')).map((r) => r.is_group)).toEqual([false, true]);
    expect(await pgQuery(url, 'SELECT ok FROM schedule_runs WHERE name = $1', ['ticker'])).toEqual([{ ok: true }]);
    // kv keys in byte order, as SQLite's BLOB order (and so key order).
    const pgKeys = (await pgQuery<{ key: Buffer }>(url, 'SELECT key FROM kv ORDER BY space, key')).map((r) => r.key.toString('hex'));
    const db = new Database(file, { readonly: true });
    try {
      const sqliteKeys = (db.prepare('SELECT key FROM kv ORDER BY space, key').pluck().all() as Buffer[]).map((k) => k.toString('hex'));
      expect(pgKeys).toEqual(sqliteKeys);
      // inbox_heads: each inbox's last seq.
      const heads = db.prepare('SELECT uid, MAX(seq) AS last FROM inbox GROUP BY uid ORDER BY uid').all() as Array<{
        uid: string;
        last: number;
      }>;
      expect(heads.length).toBe(3);
      expect(await pgQuery(url, 'SELECT uid, last_seq::int AS last FROM inbox_heads ORDER BY uid')).toEqual(heads);
      // The id sequences continue past the copied ids (jobs: past the counter too, ids never repeat).
      const maxMsg = db.prepare('SELECT MAX(id) FROM messages').pluck().get() as number;
      const lastJob = Math.max(
        db.prepare('SELECT MAX(id) FROM jobs').pluck().get() as number,
        (db.prepare(`SELECT value FROM counters WHERE name = 'jobs.id'`).pluck().get() as number | undefined) ?? 0,
      );
      expect(await pgQuery(url, `SELECT nextval(pg_get_serial_sequence('messages', 'id'))::int AS n`)).toEqual([{ n: maxMsg + 1 }]);
      expect(await pgQuery(url, `SELECT nextval(pg_get_serial_sequence('jobs', 'id'))::int AS n`)).toEqual([{ n: lastJob + 1 }]);
    } finally {
      db.close();
    }
    expect(await pgQuery(url, 'SELECT version FROM schema_version')).toEqual([{ version: PG_SCHEMA_VERSION }]);
    // The idempotency key holds in PostgreSQL too: a second row for (sender, clientMsgId) is refused.
    await expect(
      pgQuery(url, `INSERT INTO messages (from_uid, type, client_msg_id, created_at) VALUES ($1, 'text', 'ab0', 0)`, [users[0]!.uid]),
    ).rejects.toThrow(/duplicate key value violates unique constraint "messages_by_client_msg_id"/);

    // A second copy into the same database: refused, and the target unchanged.
    const before = await tableCounts(url);
    const again = await runCli(['migrate-store', '--to', url, '--data-dir', dataDir], { timeoutMs: MIGRATE_MS });
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toMatch(
      /^cgihost: the target database postgres:\/\/.* already holds a cgihost schema \(version \d+\): .*nothing was written$/m,
    );
    expect(await tableCounts(url)).toEqual(before);
  }, 120_000);

  it('in batches of 2 rows (the function the CLI calls): the same rows, progress after every batch', async () => {
    const url = await database();
    const progress: MigrateProgress[] = [];
    const r = await migrateStore({ dataDir, url, batchRows: 2, onProgress: (p) => progress.push(p) });
    const file = join(dataDir, 'cgihost.db');
    for (const { table, rows } of r.tables) {
      if (table === 'inbox_heads') continue;
      const want = sqliteRows(file, table);
      expect(rows, table).toBe(want.rows.length);
      expect((await pgRows(url, table)).rows, table).toEqual(want.rows);
      const lines = progress.filter((p) => p.table === table);
      // One line per batch of 2 (and one for an empty table), counting up to the total.
      expect(
        lines.map((p) => p.done),
        table,
      ).toEqual(rows ? Array.from({ length: Math.ceil(rows / 2) }, (_, i) => Math.min(rows, (i + 1) * 2)) : [0]);
      expect(new Set(lines.map((p) => p.total)), table).toEqual(new Set([rows]));
    }
    expect(r.rows).toBeGreaterThan(40);
  });

  it('refuses a target with rows in a cgihost table (and no schema_version), writing nothing', async () => {
    const url = await database();
    await pgQuery(url, 'CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL)');
    await pgQuery(url, `INSERT INTO counters VALUES ('x', 1)`);
    const r = await runCli(['migrate-store', '--to', url, '--data-dir', dataDir], { timeoutMs: MIGRATE_MS });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cgihost: the target database .* is not empty \(rows in counters\)/);
    expect(await tableCounts(url)).toEqual({ counters: 1 });
  });

  it('refuses a database that is not at the latest migration', async () => {
    const copy = tempDir('cgihost-data-');
    mkdirSync(copy, { recursive: true });
    cpSync(join(dataDir, 'cgihost.db'), join(copy, 'cgihost.db'));
    const db = new Database(join(copy, 'cgihost.db'));
    db.pragma('user_version = 3');
    db.close();
    const url = await database();
    const r = await runCli(['migrate-store', '--to', url, '--data-dir', copy], { timeoutMs: MIGRATE_MS });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/is at schema version 3, not this build's latest \(4\): start a host of this build on it once/);
    expect(await tableCounts(url)).toEqual({});
  });

  it('refuses a data dir without a database', async () => {
    const r = await runCli(['migrate-store', '--to', PG_URL!, '--data-dir', tempDir('cgihost-empty-')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cgihost: there is no database at .*cgihost\.db/);
  });

  it('refuses a URL that is not postgres:// (exit 2) and a server it cannot reach (exit 1), with the password left out', async () => {
    const bad = await runCli(['migrate-store', '--to', 'mysql://u@h/db', '--data-dir', dataDir]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/^cgihost: --to must be a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\/…$/m);
    const garbage = await runCli(['migrate-store', '--to', 'not a url', '--data-dir', dataDir]);
    expect(garbage.code, garbage.stderr).toBe(2);
    expect(garbage.stderr).toMatch(/--to must be a postgres:\/\/user@host:port\/database URL/);
    const missing = await runCli(['migrate-store', '--data-dir', dataDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/usage: cgihost migrate-store --to postgres:\/\//);
    // Port 1 on loopback: nothing listens there.
    const unreachable = await runCli(['migrate-store', '--to', 'postgres://me:s3cret@127.0.0.1:1/x', '--data-dir', dataDir]);
    expect(unreachable.code, unreachable.stderr).toBe(1);
    expect(unreachable.stderr).toMatch(
      /^cgihost: cannot connect to the target database postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/m,
    );
    expect(unreachable.stderr).not.toContain('s3cret');
  });

  it('leaves the SQLite data dir as it was: a host starts on it again and serves the same data', async () => {
    expect(existsSync(join(dataDir, 'cgihost.db'))).toBe(true);
    const again = await startHost({ cgisDir: host.cgisDir, dataDir, config: { watch: false } });
    try {
      const [a, b] = users as [User, User];
      const login = ok(await again.post('login', { username: a.username, password: a.password }), 'login');
      const conv = ok(await again.post('getconversations', {}, { token: login.body.token }), 'getconversations');
      expect(JSON.stringify(conv.body)).toContain(b.uid);
    } finally {
      await again.kill();
    }
  }, 120_000);
});

describe.skipIf(PG_SKIP)('the PostgreSQL schema (createSchema)', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    requirePg();
    db = await freshDatabase('cgihost_schema');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is created once by concurrent callers, again is a no-op, an older one is upgraded, and a newer one is refused', async () => {
    const clients = [new pg.Client({ connectionString: db.url }), new pg.Client({ connectionString: db.url })];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      expect(await Promise.all(clients.map((c) => ensureSchema(c)))).toEqual([PG_SCHEMA_VERSION, PG_SCHEMA_VERSION]);
      expect(await ensureSchema(clients[0]!)).toBe(PG_SCHEMA_VERSION);
      expect(await pgQuery(db.url, 'SELECT version FROM schema_version')).toEqual([{ version: PG_SCHEMA_VERSION }]);
      // Inside the caller's transaction: rolled back, nothing stays.
      const fresh = await freshDatabase('cgihost_schema');
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      try {
        await c.query('BEGIN');
        await createSchema(c);
        await c.query('ROLLBACK');
        expect(await tableCounts(fresh.url)).toEqual({});
      } finally {
        await c.end();
        await fresh.drop();
      }
      // An older version is brought up to this one, its server-side functions made again (they change in place).
      await pgQuery(db.url, 'DROP FUNCTION cgihost_send_batch');
      await pgQuery(db.url, 'UPDATE schema_version SET version = 3');
      expect(await ensureSchema(clients[0]!)).toBe(PG_SCHEMA_VERSION);
      expect(await pgQuery(db.url, "SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'cgihost_send_batch'")).toEqual([{ n: 1 }]);
      expect(await pgQuery(db.url, 'SELECT version FROM schema_version')).toEqual([{ version: PG_SCHEMA_VERSION }]);
      await pgQuery(db.url, 'UPDATE schema_version SET version = $1', [PG_SCHEMA_VERSION + 1]);
      await expect(ensureSchema(clients[0]!)).rejects.toThrow(
        `the PostgreSQL schema is at version ${PG_SCHEMA_VERSION + 1}, newer than this build knows`,
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
