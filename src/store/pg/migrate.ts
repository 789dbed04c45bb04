/**
 * `cgihost migrate-store --to postgres://…` (SPEC §9): copies a stopped
 * single-machine SQLite install into an empty PostgreSQL database, with every
 * id, seq, session, group, queue job (pending and dead), kv entry, counter and
 * media record as it was. Media files are not copied: they stay in the media
 * folder, which PostgreSQL hosts read as their mediaDir.
 *
 * - The source must be stopped: the copy opens the database in SQLite's
 *   exclusive locking mode and takes an exclusive lock for its whole length.
 *   A running host (or any process with the file open) holds a shared lock
 *   on it, so the lock is refused (STORE_IN_USE), and a host started during
 *   the copy cannot open the file until it ends. A WAL left by a host that
 *   was killed is read like any committed write.
 * - The source must be at this build's latest migration (a host of this
 *   build migrates it at start).
 * - The target must be empty: no cgihost table with a row and no
 *   schema_version row (checked under the schema's advisory lock, so two
 *   copies into one database cannot both pass).
 * - All or nothing: one PostgreSQL transaction creates the schema
 *   (schema.ts), copies every table in batches of multi-row INSERTs, sets the
 *   id sequences past the copied ids, fills inbox_heads, checks every count
 *   and that each inbox's seqs are dense, and commits; any failure rolls it
 *   all back.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CgiError } from '../../errors.js';
import { dbPath, type Db } from '../db.js';
import { migrations } from '../migrations.js';
import { createSchema, PG_TABLES, SCHEMA_LOCK_KEY, type PgTable, type Queryable } from './schema.js';

/** SQLite tables the PostgreSQL schema leaves out (schema.ts says why): the search index and its cursor. */
const SQLITE_ONLY = /^(msg_trigram|msg_short)(_|$)|^search_cursor$|^sqlite_/;

/** PostgreSQL tables with no SQLite table of their own: filled from the copied rows. */
const DERIVED: ReadonlySet<PgTable> = new Set(['inbox_heads']);

/** Values per INSERT statement (PostgreSQL takes at most 65535 parameters). */
const MAX_PARAMS = 30_000;
const MAX_BATCH_ROWS = 1_000;

export interface MigrateProgress {
  table: string;
  done: number;
  total: number;
}

export interface MigrateOptions {
  dataDir: string;
  /** postgres://… or postgresql://… */
  url: string;
  /** Called after each batch of a table (and once for an empty one). */
  onProgress?(p: MigrateProgress): void;
  /** Rows per INSERT (default: as many as fit in 30000 values, at most 1000). */
  batchRows?: number;
}

export interface MigrateResult {
  /** The target, its password left out. */
  target: string;
  /** Rows per table, in copy order (inbox_heads: one per inbox with entries). */
  tables: Array<{ table: string; rows: number }>;
  rows: number;
  ms: number;
  /** Where the media files are (not copied). */
  mediaDir: string;
}

const refused = (message: string, cause?: unknown): CgiError =>
  new CgiError('MIGRATE_STORE_FAILED', message, undefined, cause === undefined ? undefined : { cause });

/** The URL, checked: a postgres:// or postgresql:// URL (a bad one is a bad flag: CONFIG_INVALID). */
export function checkPgUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CgiError('CONFIG_INVALID', `--to must be a postgres://user@host:port/database URL, not "${url.slice(0, 200)}"`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new CgiError('CONFIG_INVALID', `--to must be a postgres:// or postgresql:// URL, not ${u.protocol}//…`);
  }
  return u;
}

/** A URL fit to print: the password (in the URL or its query) replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** Why a connection failed, in words (a refused connection to localhost is an AggregateError with no message). */
function reason(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length) return e.errors.map(reason).join('; ');
  const err = e as { message?: string; code?: string };
  return err.message || err.code || String(e);
}

/**
 * Opens the data dir's database for the copy: exclusive, so a running host
 * (or anything else with the file open) is refused, and a host cannot start
 * on it until the copy ends. Leaves a read transaction open.
 */
function openStopped(dataDir: string): Db {
  const file = dbPath(dataDir);
  if (!existsSync(file)) throw refused(`there is no database at ${file}: --data-dir names the data dir of the SQLite install`);
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 1000');
    db.pragma('locking_mode = EXCLUSIVE');
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new CgiError(
          'STORE_IN_USE',
          `the database ${file} is in use: a host (or another cgihost command) is running on ${dataDir}. ` +
            'migrate-store copies a stopped install: stop the host, then run it again',
        );
      }
      throw e;
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== migrations.length) {
      throw refused(
        version > migrations.length
          ? `the database ${file} is at schema version ${version}, newer than this build knows (${migrations.length}): use the build that wrote it`
          : `the database ${file} is at schema version ${version}, not this build's latest (${migrations.length}): ` +
              'start a host of this build on it once (it migrates at start), stop it, and run migrate-store again',
      );
    }
    return db;
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    throw e;
  }
}

interface PgColumn {
  name: string;
  type: string;
}

async function pgColumns(client: Queryable, table: string): Promise<PgColumn[]> {
  const { rows } = await client.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => ({ name: r.column_name, type: r.data_type }));
}

/** Columns of the PostgreSQL schema with no SQLite counterpart (nullable, empty in a copy). */
export const PG_ONLY_COLUMNS: Partial<Record<PgTable, readonly string[]>> = { jobs: ['leased_until', 'leased_by'] };

/** The SQLite tables to copy, checked against the PostgreSQL schema: the same tables, with the same columns in the same order. */
async function checkSameTables(db: Db, client: Queryable): Promise<Map<PgTable, PgColumn[]>> {
  const sqliteTables = db
    .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .pluck()
    .all()
    .filter((t) => !SQLITE_ONLY.test(t));
  const copied = PG_TABLES.filter((t) => !DERIVED.has(t));
  const unknown = sqliteTables.filter((t) => !(copied as readonly string[]).includes(t));
  const missing = copied.filter((t) => !sqliteTables.includes(t));
  if (unknown.length || missing.length) {
    throw refused(
      `the SQLite and PostgreSQL schemas of this build disagree: ${unknown.length ? `no PostgreSQL table for ${unknown.join(', ')}` : ''}` +
        `${unknown.length && missing.length ? '; ' : ''}${missing.length ? `no SQLite table ${missing.join(', ')}` : ''}`,
    );
  }
  const out = new Map<PgTable, PgColumn[]>();
  for (const table of copied) {
    // Columns only the PostgreSQL engine has (schema.ts, version 2: job leases) are left to their defaults.
    const cols = (await pgColumns(client, table)).filter((c) => !PG_ONLY_COLUMNS[table]?.includes(c.name));
    const sqliteCols = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
    const pgNames = cols.map((c) => c.name);
    if (sqliteCols.join(',') !== pgNames.join(',')) {
      throw refused(`the columns of ${table} differ: SQLite (${sqliteCols.join(', ')}), PostgreSQL (${pgNames.join(', ')})`);
    }
    out.set(table, cols);
  }
  return out;
}

/** Refuses a target that holds cgihost data: a schema_version row, or a row in any store table. */
async function checkEmpty(client: Queryable, target: string): Promise<void> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)`,
    [[...PG_TABLES, 'schema_version']],
  );
  const existing = rows.map((r) => r.relname);
  if (existing.includes('schema_version')) {
    const v = await client.query<{ version: number }>('SELECT version FROM schema_version');
    if (v.rows.length) {
      throw refused(
        `the target database ${target} already holds a cgihost schema (version ${v.rows[0]!.version}): ` +
          'migrate-store copies into an empty database only; nothing was written',
      );
    }
  }
  const withRows: string[] = [];
  for (const t of existing) {
    const r = await client.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM "${t}") AS any`);
    if (r.rows[0]!.any) withRows.push(t);
  }
  if (withRows.length) {
    throw refused(
      `the target database ${target} is not empty (rows in ${withRows.join(', ')}): ` +
        'migrate-store copies into an empty database only; nothing was written',
    );
  }
}

/** A SQLite value (read with safe integers) as a parameter for a PostgreSQL column of type `type`. */
function toPg(v: unknown, type: string): unknown {
  if (v === null) return null;
  if (type === 'boolean') return typeof v === 'bigint' || typeof v === 'number' ? v !== 0n && v !== 0 : v;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

async function copyTable(
  db: Db,
  client: Queryable,
  table: PgTable,
  cols: PgColumn[],
  batchRows: number | undefined,
  onProgress: ((p: MigrateProgress) => void) | undefined,
): Promise<number> {
  const names = cols.map((c) => `"${c.name}"`).join(', ');
  const total = Number(db.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck().get());
  const perBatch = Math.max(1, batchRows ?? Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMS / cols.length)));
  const read = db.prepare(`SELECT ${names} FROM ${table}`).raw(true).safeIntegers(true);
  let done = 0;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (!batch.length) return;
    const values: unknown[] = [];
    const tuples = batch.map((row) => {
      const at = values.length;
      row.forEach((v, i) => values.push(toPg(v, cols[i]!.type)));
      return `(${row.map((_, i) => `$${at + i + 1}`).join(', ')})`;
    });
    try {
      await client.query(`INSERT INTO "${table}" (${names}) VALUES ${tuples.join(', ')}`, values);
    } catch (e) {
      throw refused(`PostgreSQL refused a row of ${table} (rows ${done + 1}–${done + batch.length}): ${reason(e)}`, e);
    }
    done += batch.length;
    batch = [];
    onProgress?.({ table, done, total });
  };
  for (const row of read.iterate() as Iterable<unknown[]>) {
    batch.push(row);
    if (batch.length >= perBatch) await flush();
  }
  await flush();
  if (done === 0) onProgress?.({ table, done, total });
  if (done !== total) throw refused(`${table}: copied ${done} rows, but SQLite counted ${total}`);
  return done;
}

/** Sets an identity column's sequence so that the next id is past `last`. */
async function setSequence(client: Queryable, table: string, last: bigint): Promise<void> {
  await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)`, [table, (last > 0n ? last : 1n).toString(), last > 0n]);
}

export async function migrateStore(opts: MigrateOptions): Promise<MigrateResult> {
  const started = performance.now();
  checkPgUrl(opts.url);
  const target = redactUrl(opts.url);
  const db = openStopped(opts.dataDir);
  try {
    const client = new pg.Client({
      connectionString: opts.url,
      connectionTimeoutMillis: 15_000,
      application_name: 'cgihost migrate-store',
    });
    // A connection lost mid-copy fails the query in flight; without a listener it would also crash the process.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (e) {
      throw refused(`cannot connect to the target database ${target}: ${reason(e)}`, e);
    }
    try {
      await client.query('BEGIN');
      try {
        // Two copies into one database: the second waits here, then finds the first one's rows.
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
        await checkEmpty(client, target);
        await createSchema(client);
        const columns = await checkSameTables(db, client);
        const tables: MigrateResult['tables'] = [];
        for (const table of PG_TABLES) {
          if (table === 'inbox_heads') {
            const r = await client.query<{ n: string }>(
              `WITH h AS (INSERT INTO inbox_heads (uid, last_seq) SELECT uid, MAX(seq) FROM inbox GROUP BY uid RETURNING 1)
               SELECT COUNT(*) AS n FROM h`,
            );
            const rows = Number(r.rows[0]!.n);
            opts.onProgress?.({ table, done: rows, total: rows });
            tables.push({ table, rows });
            continue;
          }
          tables.push({ table, rows: await copyTable(db, client, table, columns.get(table)!, opts.batchRows, opts.onProgress) });
        }
        await verify(db, client);
        const maxId = (sql: string) => db.prepare<[], bigint | null>(sql).pluck().safeIntegers(true).get() ?? 0n;
        await setSequence(client, 'messages', maxId('SELECT MAX(id) FROM messages'));
        const jobsId = maxId('SELECT MAX(id) FROM jobs');
        const jobsCounter = maxId(`SELECT value FROM counters WHERE name = 'jobs.id'`);
        await setSequence(client, 'jobs', jobsId > jobsCounter ? jobsId : jobsCounter);
        await client.query('COMMIT');
        return {
          target,
          tables,
          rows: tables.reduce((n, t) => n + t.rows, 0),
          ms: Math.round(performance.now() - started),
          mediaDir: join(opts.dataDir, 'media'),
        };
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        if (e instanceof CgiError) throw e;
        throw refused(`the copy failed and was rolled back, nothing was written to ${target}: ${reason(e)}`, e);
      }
    } finally {
      await client.end().catch(() => {});
    }
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

/** Before the commit: each inbox's seqs are 1..n with none missing (a copy that lost an entry fails here). */
async function verify(db: Db, client: Queryable): Promise<void> {
  const { rows } = await client.query<{ uid: string; n: string; last: string }>(
    `SELECT uid, COUNT(*) AS n, MAX(seq) AS last FROM inbox GROUP BY uid HAVING COUNT(*) <> MAX(seq) OR MIN(seq) <> 1 LIMIT 5`,
  );
  if (rows.length) {
    const sqliteGaps = db
      .prepare<[], number>('SELECT COUNT(*) FROM (SELECT uid FROM inbox GROUP BY uid HAVING COUNT(*) <> MAX(seq) OR MIN(seq) <> 1)')
      .pluck()
      .get();
    throw refused(
      `the copied inboxes are not dense (${rows.map((r) => `${r.uid}: ${r.n} entries up to seq ${r.last}`).join('; ')})` +
        (sqliteGaps ? `: the SQLite database has ${sqliteGaps} such inboxes already` : ''),
    );
  }
}
