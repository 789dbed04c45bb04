/**
 * Small reads shared by the PostgreSQL engine's contacts, groups and search:
 * a statement on a transaction or on the pool alike, and whether users exist
 * (with the SQLite engine's NO_SUCH_USER answer, accounts.ts requireUsers).
 */
import { CgiError } from '../../errors.js';
import { PgDb } from './db.js';
import type { Queryable } from './schema.js';

/** Where a read runs: a transaction (it sees its own writes) or the pool (what is committed). */
export type Reader = Queryable | PgDb;

/** The rows of one statement on `q`. */
export async function rowsOf<R extends Record<string, unknown>>(q: Reader, text: string, values?: unknown[]): Promise<R[]> {
  if (q instanceof PgDb) return q.query<R>(text, values);
  return (await q.query<R>(text, values)).rows;
}

/** Whether a user `uid` exists (anything but a string: no). */
export async function userExists(q: Reader, uid: unknown): Promise<boolean> {
  if (typeof uid !== 'string') return false;
  return (await rowsOf(q, 'SELECT 1 FROM users WHERE uid = $1', [uid])).length > 0;
}

/** Fails with NO_SUCH_USER listing the unknown ones, in the order (and with the repeats) given, as Accounts.requireUsers does. */
export async function requireUsers(q: Reader, uids: readonly string[]): Promise<void> {
  const found = await rowsOf<{ uid: string }>(q, 'SELECT uid FROM users WHERE uid = ANY($1::text[])', [[...new Set(uids)]]);
  const known = new Set(found.map((r) => r.uid));
  const unknown = uids.filter((u) => !known.has(u));
  if (unknown.length > 0) {
    throw new CgiError('NO_SUCH_USER', unknown.length === 1 ? 'no such user' : 'no such users', { uids: unknown });
  }
}
