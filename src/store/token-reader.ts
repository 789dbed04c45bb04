/**
 * Resolves bearer tokens in the main thread, on its own read-only connection to
 * the store's database: authentication costs no round trip to the store
 * thread. Sessions found are cached by token, so a request with a known token
 * costs neither the SHA-256 nor the SQLite read.
 *
 * Revocation stays immediate: the store bumps a shared counter after it has
 * committed a revocation and before it answers the caller, and the cache is
 * dropped whenever the counter moved. A client that has seen its logout
 * answered can therefore never be let in by the cache; a read that raced the
 * revocation cached its result under the old count, and is dropped with it.
 */
import type { Statement } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { openReadOnly, type Db } from './db.js';
import type { TokenLookup } from './engine.js';
import { sharedCounter } from '../ports/shared-counter.js';

export interface TokenIdentity {
  uid: string;
  sessionId: string;
}

/** Sessions kept at most; past it the cache starts again empty (a few tens of MB at worst). */
const MAX_CACHED = 100_000;

/** How many session revocations have committed: a sharedCounter of the store thread and the reader. */
export const revocationCounter = sharedCounter;

export class TokenReader implements TokenLookup {
  private readonly db: Db;
  private readonly lookup: Statement<[string], TokenIdentity>;
  private readonly cache = new Map<string, TokenIdentity>();
  private seen = 0;

  /** The store thread must have opened (and migrated) the database first; it bumps `revocations`. */
  constructor(
    dataDir: string,
    private readonly revocations: Int32Array = revocationCounter(),
  ) {
    this.db = openReadOnly(dataDir);
    this.lookup = this.db.prepare('SELECT uid, session_id AS sessionId FROM sessions WHERE token_hash = ?');
    this.seen = Atomics.load(revocations, 0);
  }

  /** The session of a bearer token, or null. */
  authenticate(token: string): TokenIdentity | null {
    const now = Atomics.load(this.revocations, 0);
    if (now !== this.seen) {
      this.cache.clear();
      this.seen = now;
    }
    const hit = this.cache.get(token);
    if (hit) return hit;
    const found = this.resolve(createHash('sha256').update(token).digest('hex'));
    if (found) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(token, found);
    }
    return found;
  }

  /** The session of a token hash (lowercase hex SHA-256 of the token), or null. Never cached. */
  resolve(tokenHash: string): TokenIdentity | null {
    if (typeof tokenHash !== 'string' || tokenHash.length === 0) return null;
    return this.lookup.get(tokenHash) ?? null;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
