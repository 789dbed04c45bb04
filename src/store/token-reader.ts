/**
 * Resolves bearer tokens in the main thread, on its own read-only connection to
 * the store's database: authentication costs no round trip to the store
 * thread. No cache: a session revoked by a committed logout fails at once.
 */
import type { Statement } from 'better-sqlite3';
import { openReadOnly, type Db } from './db.js';

export interface TokenIdentity {
  uid: string;
  sessionId: string;
}

export class TokenReader {
  private readonly db: Db;
  private readonly lookup: Statement<[string], TokenIdentity>;

  /** The store thread must have opened (and migrated) the database first. */
  constructor(dataDir: string) {
    this.db = openReadOnly(dataDir);
    this.lookup = this.db.prepare('SELECT uid, session_id AS sessionId FROM sessions WHERE token_hash = ?');
  }

  /** The session of a token hash (lowercase hex SHA-256 of the token), or null. */
  resolve(tokenHash: string): TokenIdentity | null {
    if (typeof tokenHash !== 'string' || tokenHash.length === 0) return null;
    return this.lookup.get(tokenHash) ?? null;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
