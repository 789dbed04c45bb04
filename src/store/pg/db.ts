/**
 * The PostgreSQL engine's connections: a pool for reads and transactions,
 * opened with the schema created or upgraded (schema.ts, under its advisory
 * lock, so hosts starting together take turns). Every bigint reads back as a
 * JS number (ids, seqs and times in ms all fit in 2^53), on this pool only.
 *
 * A transaction (`tx`) collects what must happen once it commits: inbox
 * wake-ups go out as NOTIFY inside it (PostgreSQL delivers them at COMMIT and
 * drops them on ROLLBACK), and `after` callbacks run after COMMIT returned.
 * A transaction that fails on a serialization failure or a deadlock is run
 * again from the start (its callback must only touch the database).
 * A connection that fails, or a database that refuses writes, answers 503
 * STORE_UNAVAILABLE: the write was not made.
 */
import pg from 'pg';
import { CgiError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ensureSchema, INBOX_CHANNEL, NOTIFY_CHUNK, type Queryable } from './schema.js';

export { INBOX_CHANNEL };
/** The NOTIFY channel of session revocations (payload: the new sessions_epoch). */
export const REVOKE_CHANNEL = 'cgihost_revoke';
/** A uid whose account was disabled or whose password was reset: every host ends that user's held syncs. */
export const RELEASE_CHANNEL = 'cgihost_release';

/** A transaction that hit a serialization failure or deadlock is tried this many times in all. */
const TX_ATTEMPTS = 5;
/** SQLSTATEs worth retrying the whole transaction for. */
const RETRY_STATES = new Set(['40001', '40P01']);
/** Pool connections kept however idle the host, and how long one more stays open unused. */
const POOL_MIN = 4;
const POOL_IDLE_MS = 60_000;

/** SQLSTATE classes meaning the server cannot take the write (connection, resources, shutting down, read-only). */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

export interface PgDbOptions {
  url: string;
  /** Pool size (default 16). */
  max?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  log?: Logger;
}

/** A transaction in progress: run queries on it, ask for wake-ups and after-commit work. */
export interface PgTx extends Queryable {
  /** The transaction's clock (ms), taken once at its start: every row it writes has the same time. */
  readonly now: number;
  /** Wakes the held syncs of `uid`, on every host, once this transaction commits. */
  wake(uid: string): void;
  /** Runs `fn` after COMMIT returned (not on rollback, not on a retried attempt). */
  after(fn: () => void): void;
}

const int8 = (v: string) => Number(v);

export class PgDb {
  readonly pool: pg.Pool;
  private closed = false;

  private constructor(
    readonly url: string,
    pool: pg.Pool,
  ) {
    this.pool = pool;
  }

  /** Opens a pool and creates or upgrades the schema. Fails (and closes the pool) when the database cannot be reached. */
  static async open(opts: PgDbOptions): Promise<PgDb> {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max ?? 16,
      // Connections kept open when idle: a new one costs a server process, its caches and every function's plans
      // (a send's first batch on a fresh connection took 7-15 ms in PostgreSQL, not under 1), which an idle host's next
      // send would pay.
      min: Math.min(POOL_MIN, opts.max ?? 16),
      idleTimeoutMillis: POOL_IDLE_MS,
      application_name: opts.applicationName ?? 'cgihost',
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 ? int8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client that loses its connection emits 'error' on the pool: logged, never a crash.
    pool.on('error', (err) => opts.log?.warn('postgres connection lost', { error: err.message }));
    const db = new PgDb(opts.url, pool);
    try {
      const c = await pool.connect();
      try {
        await ensureSchema(c);
      } finally {
        c.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(`cannot open the PostgreSQL store at ${redactUrl(opts.url)}: ${(err as Error).message}`, { cause: err });
    }
    return db;
  }

  /** One statement outside a transaction: its rows. */
  async query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw mapError(err);
    }
  }

  /**
   * Runs `fn` in a transaction (READ COMMITTED) and commits; wake-ups are
   * notified inside it, `after` callbacks run once it committed. Retried from
   * the start on a serialization failure or a deadlock.
   */
  async tx<T>(fn: (tx: PgTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw mapError(err);
      }
      const uids = new Set<string>();
      const afters: Array<() => void> = [];
      const tx: PgTx = {
        now: Date.now(),
        query: (text, values) => client.query(text, values) as never,
        wake: (uid) => void uids.add(uid),
        after: (f) => void afters.push(f),
      };
      let broken = false;
      // A connection that dies while checked out (the server terminated it) emits 'error' on the client:
      // the query in flight fails with it; without a listener it would be an uncaught exception.
      const lost = () => void (broken = true);
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        // The wake-ups and the COMMIT in one round trip (simple query protocol: several statements, no parameters).
        const notify = chunkUids(uids).map((p) => `SELECT pg_notify('${INBOX_CHANNEL}', ${quoteLiteral(p)}); `);
        await client.query(`${notify.join('')}COMMIT`);
        client.off('error', lost);
        client.release();
        for (const f of afters) f();
        return result;
      } catch (err) {
        try {
          if (!broken) await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        client.off('error', lost);
        client.release(broken ? (err as Error) : undefined);
        const state = (err as { code?: string }).code;
        if (attempt < TX_ATTEMPTS && state && RETRY_STATES.has(state)) continue;
        throw mapError(err);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** A string as an SQL literal (standard_conforming_strings: only the quote doubles). */
function quoteLiteral(s: string): string {
  if (s.includes('\0')) throw new Error('a NOTIFY payload cannot hold U+0000');
  return `'${s.replace(/'/g, "''")}'`;
}

/** Splits uids into NOTIFY payloads under the size limit. */
export function chunkUids(uids: Iterable<string>): string[] {
  const out: string[] = [];
  let cur = '';
  for (const uid of uids) {
    if (cur.length + uid.length + 1 > NOTIFY_CHUNK && cur) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur},${uid}` : uid;
  }
  if (cur) out.push(cur);
  return out;
}

/** CgiErrors pass; a database that cannot take the request becomes 503 STORE_UNAVAILABLE; anything else stays (INTERNAL on the wire). */
export function mapError(err: unknown): unknown {
  if (err instanceof CgiError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const unavailable =
    (typeof code === 'string' && (UNAVAILABLE_CLASSES.some((c) => code.startsWith(c)) || code === '25006')) ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    /Connection terminated|timeout exceeded when trying to connect/i.test((err as Error)?.message ?? '');
  if (!unavailable) return err;
  return new CgiError('STORE_UNAVAILABLE', 'the store cannot be reached right now; try again later', undefined, { cause: err });
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** Inserts a job (the transactional outbox): it commits with the transaction that caused it. Returns its id. */
export async function enqueueJob(tx: PgTx, topic: string, payload: string, key = '', runAt?: number): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO jobs (topic, key, payload, state, attempts, next_run_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'pending', 0, $4, $5, $5) RETURNING id`,
    [topic, key, payload, runAt ?? tx.now, tx.now],
  );
  return rows[0]!.id;
}
