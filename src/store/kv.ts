/**
 * ctx.kv on SQLite: one table, keyed by (space, encoded key). Reads run at
 * once between transactions; every write is an atomic write through group
 * commit (a single set is an atomic write of one mutation), so a resolved
 * write is durable and shares its fsync with the rest of the batch.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import { checkKey, formatVersion, KvReads } from './kv-reads.js';
import { jobIdOf } from './queue/jobs.js';
import { invalid } from './validate.js';
import {
  ATOMIC_LIMITS,
  MAX_DELAY_MS,
  MAX_JOB_KEY_LENGTH,
  MAX_TOPIC_LENGTH,
  MAX_VALUE_BYTES,
  RESERVED_TOPICS,
  TOPIC,
  type AtomicWrite,
  type CommitResult,
  type KvMutation,
  type QueueMessage,
} from './platform-api.js';

/** Inserts a consumer job in the caller's transaction; returns its id. */
export type Enqueue = (tx: Tx, m: QueueMessage) => number;

const VERSION_COUNTER = 'kv.version';

export class Kv extends KvReads {
  private readonly current: Statement<[string, Uint8Array], KvRow>;
  private readonly upsert: Statement<[string, Uint8Array, string, number, number | null]>;
  private readonly remove: Statement<[string, Uint8Array]>;
  private readonly sweepExpired: Statement<[number, number]>;
  private readonly saveVersion: Statement<[string, number]>;
  private lastVersion: number;

  constructor(db: Db) {
    super(db);
    this.current = db.prepare('SELECT value, version, expires_at FROM kv WHERE space = ? AND key = ?');
    this.upsert = db.prepare(
      `INSERT INTO kv (space, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (space, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
    );
    this.remove = db.prepare('DELETE FROM kv WHERE space = ? AND key = ?');
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
    const planned = planMutations(w.mutations, tx.now, (k) => this.current.get(space, k));
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
}

/** A key's row as a write sees it. */
export interface KvRow {
  value: string;
  version: number;
  expires_at: number | null;
}

/**
 * What an atomic write does to each key, in order (every engine's): sums are
 * worked out from the live value (`current`, or what this write set before),
 * and one that cannot apply throws, before anything is written.
 */
export function planMutations(mutations: KvMutation[], now: number, current: (key: Uint8Array) => KvRow | undefined) {
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
        const row = current(m.key);
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
  if (RESERVED_TOPICS.has(topic)) throw new CgiError('INVALID_INPUT', `topic "${topic}" is the host's own`);
}
