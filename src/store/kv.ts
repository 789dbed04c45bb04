/**
 * ctx.kv on SQLite: one table, keyed by (space, encoded key). Reads run at
 * once between transactions; every write is an atomic write through group
 * commit (a single set is an atomic write of one mutation), so a resolved
 * write is durable and shares its fsync with the rest of the batch.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { StoreError } from './api.js';
import { invalid } from './validate.js';
import {
  ATOMIC_LIMITS,
  MAX_DELAY_MS,
  MAX_GET_MANY,
  MAX_JOB_KEY_LENGTH,
  MAX_KEY_BYTES,
  MAX_LIST_LIMIT,
  MAX_TOPIC_LENGTH,
  MAX_VALUE_BYTES,
  RESERVED_TOPICS,
  TOPIC,
  type AtomicWrite,
  type CommitResult,
  type KvEntry,
  type KvListArgs,
  type KvMutation,
  type QueueMessage,
} from './platform-api.js';

interface Row {
  key: Uint8Array;
  value: string;
  version: number;
}

/** Inserts a consumer job in the caller's transaction; returns its id. */
export type Enqueue = (tx: Tx, m: QueueMessage) => number;

const VERSION_COUNTER = 'kv.version';

export class Kv {
  private readonly getOne: Statement<[string, Uint8Array, number], Row>;
  private readonly current: Statement<[string, Uint8Array], { value: string; version: number; expires_at: number | null }>;
  private readonly upsert: Statement<[string, Uint8Array, string, number, number | null]>;
  private readonly remove: Statement<[string, Uint8Array]>;
  private readonly listAsc: Statement<[string, Uint8Array, Uint8Array, number, number], Row>;
  private readonly listDesc: Statement<[string, Uint8Array, Uint8Array, number, number], Row>;
  private readonly sweepExpired: Statement<[number, number]>;
  private readonly saveVersion: Statement<[string, number]>;
  private lastVersion: number;

  constructor(db: Db) {
    const live = '(expires_at IS NULL OR expires_at > ?)';
    this.getOne = db.prepare(`SELECT key, value, version FROM kv WHERE space = ? AND key = ? AND ${live}`);
    this.current = db.prepare('SELECT value, version, expires_at FROM kv WHERE space = ? AND key = ?');
    this.upsert = db.prepare(
      `INSERT INTO kv (space, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (space, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
    );
    this.remove = db.prepare('DELETE FROM kv WHERE space = ? AND key = ?');
    const list = (order: string) =>
      db.prepare<[string, Uint8Array, Uint8Array, number, number], Row>(
        `SELECT key, value, version FROM kv WHERE space = ? AND key >= ? AND key < ? AND ${live} ORDER BY key ${order} LIMIT ?`,
      );
    this.listAsc = list('ASC');
    this.listDesc = list('DESC');
    this.sweepExpired = db.prepare(
      'DELETE FROM kv WHERE (space, key) IN (SELECT space, key FROM kv WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
    );
    this.saveVersion = db.prepare(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
    const saved = db.prepare<[string], number>('SELECT value FROM counters WHERE name = ?').pluck().get(VERSION_COUNTER) ?? 0;
    const highest = db.prepare<[], number | null>('SELECT MAX(version) FROM kv').pluck().get() ?? 0;
    this.lastVersion = Math.max(saved, highest);
  }

  get(space: string, a: { keys: Uint8Array[] }, now: number): Array<KvEntry | null> {
    if (!Array.isArray(a.keys) || a.keys.length < 1 || a.keys.length > MAX_GET_MANY) {
      invalid(`getMany takes 1 to ${MAX_GET_MANY} keys`);
    }
    return a.keys.map((k) => {
      const row = this.getOne.get(space, checkKey(k), now);
      return row ? entry(row) : null;
    });
  }

  list(space: string, a: KvListArgs, now: number): KvEntry[] {
    const start = checkBound(a.start);
    const end = checkBound(a.end);
    if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_LIST_LIMIT + 1) invalid(`limit must be 1 to ${MAX_LIST_LIMIT}`);
    return (a.reverse ? this.listDesc : this.listAsc).all(space, start, end, now, a.limit).map(entry);
  }

  /** Runs inside a write: the checks, then (only if every one holds) the mutations and the jobs. */
  commit(tx: Tx, space: string, w: AtomicWrite, enqueue: Enqueue): CommitResult {
    checkAtomic(w);
    for (const c of w.checks) {
      const row = this.current.get(space, c.key);
      const live = row && (row.expires_at === null || row.expires_at > tx.now);
      const version = live ? formatVersion(row.version) : null;
      if (version !== c.version) return { ok: false };
    }
    // Sums are worked out before anything is written: one that cannot apply fails the whole write, having written nothing.
    const planned = this.plan(space, w.mutations, tx.now);
    // A write that changes no key (jobs only) takes no new version.
    const version = planned.length > 0 ? ++this.lastVersion : this.lastVersion;
    for (const p of planned) {
      if (p.value === null) this.remove.run(space, p.key);
      else this.upsert.run(space, p.key, p.value, version, p.expiresAt);
    }
    if (planned.length > 0) tx.beforeCommit(VERSION_COUNTER, () => this.saveVersion.run(VERSION_COUNTER, this.lastVersion));
    const jobIds = w.enqueues.map((m) => jobIdOf(enqueue(tx, m)));
    return { ok: true, version: formatVersion(version), jobIds };
  }

  /** Deletes up to `limit` expired keys; returns how many. */
  sweep(now: number, limit: number): number {
    return this.sweepExpired.run(now, limit).changes;
  }

  private plan(space: string, mutations: KvMutation[], now: number) {
    const out: Array<{ key: Uint8Array; value: string | null; expiresAt: number | null }> = [];
    // What this write has set so far, by key, so that a sum after a set (or a sum twice) adds up.
    const pending = new Map<string, { value: string | null; expiresAt: number | null }>();
    for (const m of mutations) {
      const id = Buffer.from(m.key).toString('latin1');
      if (m.t === 'set') {
        const expiresAt = m.expireInMs === undefined ? null : now + m.expireInMs;
        pending.set(id, { value: m.value, expiresAt });
        out.push({ key: m.key, value: m.value, expiresAt });
      } else if (m.t === 'delete') {
        pending.set(id, { value: null, expiresAt: null });
        out.push({ key: m.key, value: null, expiresAt: null });
      } else {
        let before = pending.get(id);
        if (!before) {
          const row = this.current.get(space, m.key);
          const live = row && (row.expires_at === null || row.expires_at > now);
          before = live ? { value: row.value, expiresAt: row.expires_at } : { value: null, expiresAt: null };
        }
        const base = before.value === null ? 0 : (JSON.parse(before.value) as unknown);
        if (typeof base !== 'number') invalid('sum() needs the key to hold a number (or not exist)');
        const total = base + m.n;
        if (!Number.isFinite(total)) invalid('sum() would leave a number JSON cannot hold');
        const after = { value: JSON.stringify(total), expiresAt: before.expiresAt };
        pending.set(id, after);
        out.push({ key: m.key, ...after });
      }
    }
    return out;
  }
}

export function formatVersion(v: number): string {
  return v.toString(16).padStart(16, '0');
}

export function jobIdOf(rowId: number): string {
  return 'j' + rowId.toString(36);
}

/** A job id from the admin API back to its row, or null. */
export function jobRowOf(jobId: string): number | null {
  if (!/^j[0-9a-z]{1,11}$/.test(jobId)) return null;
  const n = parseInt(jobId.slice(1), 36);
  return Number.isSafeInteger(n) ? n : null;
}

function entry(r: Row): KvEntry {
  return { key: r.key, value: r.value, version: formatVersion(r.version) };
}

function checkKey(k: unknown): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length < 1 || k.length > MAX_KEY_BYTES) invalid('a key must be 1 to 2048 encoded bytes');
  return k;
}

function checkBound(k: unknown): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length > MAX_KEY_BYTES + 1) invalid('a range bound must be an encoded key');
  return k;
}

function checkValue(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) invalid('a value must be JSON text');
  if (v.length > MAX_VALUE_BYTES || (v.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(v) > MAX_VALUE_BYTES)) {
    invalid(`a value must be at most ${MAX_VALUE_BYTES} bytes as JSON`);
  }
  return v;
}

/** The store's own checks of an atomic write (the worker checked the same already; any caller may reach the store). */
export function checkAtomic(w: AtomicWrite): void {
  if (!w || !Array.isArray(w.checks) || !Array.isArray(w.mutations) || !Array.isArray(w.enqueues)) invalid('malformed atomic write');
  if (w.checks.length > ATOMIC_LIMITS.checks) invalid(`an atomic write takes at most ${ATOMIC_LIMITS.checks} checks`);
  if (w.mutations.length > ATOMIC_LIMITS.mutations) invalid(`an atomic write takes at most ${ATOMIC_LIMITS.mutations} mutations`);
  if (w.enqueues.length > ATOMIC_LIMITS.enqueues) invalid(`an atomic write takes at most ${ATOMIC_LIMITS.enqueues} enqueues`);
  for (const c of w.checks) {
    checkKey(c.key);
    if (c.version !== null && typeof c.version !== 'string') invalid('a check version must be a version string or null');
  }
  for (const m of w.mutations) {
    checkKey(m.key);
    if (m.t === 'set') {
      checkValue(m.value);
      if (m.expireInMs !== undefined && !(Number.isInteger(m.expireInMs) && m.expireInMs > 0)) {
        invalid('expireInMs must be a positive whole number of milliseconds');
      }
    } else if (m.t === 'sum') {
      if (typeof m.n !== 'number' || !Number.isFinite(m.n)) invalid('sum() takes a finite number');
    } else if (m.t !== 'delete') {
      invalid('unknown mutation');
    }
  }
  for (const e of w.enqueues) checkMessage(e);
}

export function checkMessage(m: QueueMessage): void {
  checkTopic(m.topic);
  if (typeof m.payload !== 'string' || m.payload.length === 0) invalid('a job payload must be JSON text');
  if (m.payload.length > MAX_VALUE_BYTES || (m.payload.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(m.payload) > MAX_VALUE_BYTES)) {
    invalid(`a job payload must be at most ${MAX_VALUE_BYTES} bytes as JSON`);
  }
  if (m.delayMs !== undefined && !(Number.isInteger(m.delayMs) && m.delayMs >= 0 && m.delayMs <= MAX_DELAY_MS)) {
    invalid('delayMs must be a whole number of milliseconds, 0 to one year');
  }
  if (m.key !== undefined && (typeof m.key !== 'string' || m.key.length < 1 || m.key.length > MAX_JOB_KEY_LENGTH)) {
    invalid(`a job key must be a string of 1 to ${MAX_JOB_KEY_LENGTH} characters`);
  }
}

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length > MAX_TOPIC_LENGTH || !TOPIC.test(topic)) {
    invalid(`a topic must match [a-z][a-z0-9_.-]* (at most ${MAX_TOPIC_LENGTH} characters)`);
  }
  if (RESERVED_TOPICS.has(topic)) throw new StoreError('INVALID_INPUT', `topic "${topic}" is the host's own`);
}
