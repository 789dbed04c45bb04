/**
 * ctx.kv on PostgreSQL: the same table as SQLite's, keyed by (space, encoded
 * key) in `bytea` (byte order is key order in both), answering what the
 * SQLite Kv answers. An atomic write takes a transaction-level advisory lock
 * per key it checks or writes (sorted, so two writes never wait on each other
 * in a cycle) — a lock that also covers a key that does not exist yet, which
 * a row lock cannot — then checks, then writes; a failed check writes
 * nothing. Versions come from a sequence: unique and increasing, with no row
 * that every write of every host would queue on.
 */
import { createHash } from 'node:crypto';
import { checkAtomic, planMutations, type KvRow } from '../kv.js';
import { checkGet, checkList, formatVersion } from '../kv-reads.js';
import type { AtomicWrite, KvEntry, KvListArgs, QueueMessage } from '../platform-api.js';
import { SCHEMA_LOCK_KEY } from './schema.js';
import type { PgDb, PgTx } from './db.js';

/** Inserts a job in the caller's transaction; returns its row id. */
export type PgEnqueue = (tx: PgTx, m: QueueMessage) => Promise<number>;

const VERSIONS = 'kv_versions';
/** The first key of kv's advisory locks (two-key form: apart from the one-key locks of schema and schedules). */
const KV_LOCK_CLASS = 0x6b76; // 'kv'

interface Row {
  key: Buffer;
  value: string;
  version: number;
}

export class PgKv {
  private constructor(private readonly db: PgDb) {}

  /** Creates the version sequence if it is missing, starting past every version in use (a copied install's too). */
  static async open(db: PgDb): Promise<PgKv> {
    await db.tx(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
      await tx.query(`CREATE SEQUENCE IF NOT EXISTS ${VERSIONS} AS bigint`);
      const { rows } = await tx.query<{ used: number; last: number; called: boolean }>(
        `SELECT GREATEST((SELECT value FROM counters WHERE name = 'kv.version'), (SELECT MAX(version) FROM kv), 0) AS used,
                last_value AS last, is_called AS called FROM ${VERSIONS}`,
      );
      const r = rows[0]!;
      if (r.used > (r.called ? r.last : 0)) await tx.query(`SELECT setval('${VERSIONS}', $1)`, [r.used]);
    });
    return new PgKv(db);
  }

  async get(space: string, a: { keys: Uint8Array[] }, now: number): Promise<Array<KvEntry | null>> {
    const keys = checkGet(a).map(buf);
    const rows = await this.db.query<Row & Record<string, unknown>>(
      `SELECT key, value, version FROM kv WHERE space = $1 AND key = ANY($2::bytea[]) AND (expires_at IS NULL OR expires_at > $3)`,
      [space, keys, now],
    );
    const byKey = new Map(rows.map((r) => [r.key.toString('hex'), r]));
    return keys.map((k) => {
      const r = byKey.get(k.toString('hex'));
      return r ? entry(r) : null;
    });
  }

  async list(space: string, a: KvListArgs, now: number): Promise<KvEntry[]> {
    const { start, end } = checkList(a);
    const rows = await this.db.query<Row & Record<string, unknown>>(
      `SELECT key, value, version FROM kv WHERE space = $1 AND key >= $2 AND key < $3 AND (expires_at IS NULL OR expires_at > $4)
        ORDER BY key ${a.reverse ? 'DESC' : 'ASC'} LIMIT $5`,
      [space, buf(start), buf(end), now, a.limit],
    );
    return rows.map(entry);
  }

  /** The checks, then (only if every one holds) the mutations and the jobs, in `tx`. */
  async commit(
    tx: PgTx,
    space: string,
    w: AtomicWrite,
    enqueue: PgEnqueue,
  ): Promise<{ ok: true; version: string; jobIds: number[] } | { ok: false }> {
    checkAtomic(w);
    const touched = new Map<string, Buffer>();
    for (const k of [...w.checks.map((c) => c.key), ...w.mutations.map((m) => m.key)]) {
      const b = buf(k);
      touched.set(b.toString('hex'), b);
    }
    if (touched.size > 0) {
      const locks = [...new Set([...touched.values()].map((k) => lockOf(space, k)))].sort((x, y) => x - y);
      await tx.query(`SELECT pg_advisory_xact_lock(${KV_LOCK_CLASS}, l) FROM unnest($1::int[]) AS l`, [locks]);
    }
    // The rows the checks and sums read, as they are now that no other write can change them.
    const read = new Map<string, KvRow>();
    const wanted = [...w.checks.map((c) => c.key), ...w.mutations.filter((m) => m.t === 'sum').map((m) => m.key)].map(buf);
    if (wanted.length > 0) {
      const { rows } = await tx.query<KvRow & { key: Buffer } & Record<string, unknown>>(
        'SELECT key, value, version, expires_at FROM kv WHERE space = $1 AND key = ANY($2::bytea[])',
        [space, wanted],
      );
      for (const r of rows) read.set(r.key.toString('hex'), r);
    }
    for (const c of w.checks) {
      const row = read.get(buf(c.key).toString('hex'));
      const live = row && (row.expires_at === null || row.expires_at > tx.now);
      if ((live ? formatVersion(row.version) : null) !== c.version) return { ok: false };
    }
    const planned = planMutations(w.mutations, tx.now, (k) => read.get(buf(k).toString('hex')));
    let version: number;
    if (planned.length > 0) {
      version = (await tx.query<{ v: number }>(`SELECT nextval('${VERSIONS}') AS v`)).rows[0]!.v;
      // The last mutation of a key is what it holds.
      const last = new Map<string, { key: Buffer; value: string | null; expiresAt: number | null }>();
      for (const p of planned) {
        const b = buf(p.key);
        last.set(b.toString('hex'), { key: b, value: p.value, expiresAt: p.expiresAt });
      }
      const sets = [...last.values()].filter((p) => p.value !== null);
      const deletes = [...last.values()].filter((p) => p.value === null).map((p) => p.key);
      if (deletes.length > 0) await tx.query('DELETE FROM kv WHERE space = $1 AND key = ANY($2::bytea[])', [space, deletes]);
      if (sets.length > 0) {
        await tx.query(
          `INSERT INTO kv (space, key, value, version, expires_at)
           SELECT $1, k, v, $2, e FROM unnest($3::bytea[], $4::text[], $5::bigint[]) AS u(k, v, e)
           ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at`,
          [space, version, sets.map((p) => p.key), sets.map((p) => p.value), sets.map((p) => p.expiresAt)],
        );
      }
    } else {
      // A write that changes no key (jobs only) takes no new version.
      version = await this.lastVersion(tx);
    }
    const jobIds: number[] = [];
    for (const m of w.enqueues) jobIds.push(await enqueue(tx, m));
    return { ok: true, version: formatVersion(version), jobIds };
  }

  /** Deletes up to `limit` expired keys; returns how many. */
  async sweep(now: number, limit: number): Promise<number> {
    const rows = await this.db.query(
      `DELETE FROM kv WHERE (space, key) IN (
         SELECT space, key FROM kv WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       AND expires_at <= $1 RETURNING 1`,
      [now, limit],
    );
    return rows.length;
  }

  private async lastVersion(tx: PgTx): Promise<number> {
    const { rows } = await tx.query<{ v: number }>(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v FROM ${VERSIONS}`);
    return rows[0]!.v;
  }
}

function buf(k: Uint8Array): Buffer {
  return Buffer.isBuffer(k) ? k : Buffer.from(k.buffer, k.byteOffset, k.byteLength);
}

/** A key's lock: 32 bits of a hash of (space, key); two keys that share one merely wait on each other. */
function lockOf(space: string, key: Buffer): number {
  return createHash('sha1').update(space).update('\0').update(key).digest().readInt32BE(0);
}

function entry(r: Row): KvEntry {
  return { key: new Uint8Array(r.key), value: r.value, version: formatVersion(r.version) };
}
