/**
 * The reads of ctx.kv on SQLite: one key, many keys, a range. The store
 * thread runs them on its connection, and a worker may run them on a
 * read-only connection of its own (src/worker/sqlite-reads.ts): a committed
 * write is in the database file before the writer is answered, so a read
 * that follows it — from any thread — sees it.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { invalid } from './validate.js';
import { MAX_GET_MANY, MAX_KEY_BYTES, MAX_LIST_LIMIT, type KvEntry, type KvListArgs } from './platform-api.js';

interface Row {
  key: Uint8Array;
  value: string;
  version: number;
}

export class KvReads {
  private readonly getOne: Statement<[string, Uint8Array, number], Row>;
  private readonly listAsc: Statement<[string, Uint8Array, Uint8Array, number, number], Row>;
  private readonly listDesc: Statement<[string, Uint8Array, Uint8Array, number, number], Row>;

  constructor(db: Db) {
    const live = '(expires_at IS NULL OR expires_at > ?)';
    this.getOne = db.prepare(`SELECT key, value, version FROM kv WHERE space = ? AND key = ? AND ${live}`);
    const list = (order: string) =>
      db.prepare<[string, Uint8Array, Uint8Array, number, number], Row>(
        `SELECT key, value, version FROM kv WHERE space = ? AND key >= ? AND key < ? AND ${live} ORDER BY key ${order} LIMIT ?`,
      );
    this.listAsc = list('ASC');
    this.listDesc = list('DESC');
  }

  get(space: string, a: { keys: Uint8Array[] }, now: number): Array<KvEntry | null> {
    return checkGet(a).map((k) => {
      const row = this.getOne.get(space, k, now);
      return row ? entry(row) : null;
    });
  }

  list(space: string, a: KvListArgs, now: number): KvEntry[] {
    const { start, end } = checkList(a);
    return (a.reverse ? this.listDesc : this.listAsc).all(space, start, end, now, a.limit).map(entry);
  }
}

/** The keys of a getMany, checked (every engine's). */
export function checkGet(a: { keys: Uint8Array[] }): Uint8Array[] {
  if (!Array.isArray(a.keys) || a.keys.length < 1 || a.keys.length > MAX_GET_MANY) {
    invalid(`getMany takes 1 to ${MAX_GET_MANY} keys`);
  }
  return a.keys.map(checkKey);
}

/** The bounds and limit of a list, checked (every engine's). */
export function checkList(a: KvListArgs): { start: Uint8Array; end: Uint8Array } {
  const start = checkBound(a.start);
  const end = checkBound(a.end);
  if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_LIST_LIMIT + 1) invalid(`limit must be 1 to ${MAX_LIST_LIMIT}`);
  return { start, end };
}

export function formatVersion(v: number): string {
  return v.toString(16).padStart(16, '0');
}

function entry(r: Row): KvEntry {
  return { key: r.key, value: r.value, version: formatVersion(r.version) };
}

export function checkKey(k: unknown): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length < 1 || k.length > MAX_KEY_BYTES) invalid('a key must be 1 to 2048 encoded bytes');
  return k;
}

function checkBound(k: unknown): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length > MAX_KEY_BYTES + 1) invalid('a range bound must be an encoded key');
  return k;
}
