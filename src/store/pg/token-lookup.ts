/**
 * Bearer tokens on PostgreSQL, resolved in the main thread like TokenReader
 * does on SQLite: a cache by token, so a known token costs no round trip; a
 * miss asks the database (a promise) on a small pool of its own.
 *
 * Revocation: the store thread bumps the shared `revocations` counter when a
 * revocation committed here, and when it learns of one made by another host
 * (the sessions epoch, by NOTIFY at once or by its poll within a second);
 * the cache is dropped whenever the counter moved. A lookup that raced a
 * revocation is not cached (the counter moved while it ran).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { TokenLookup } from '../engine.js';
import type { TokenIdentity } from '../token-reader.js';
import { mapError } from './db.js';

/** Sessions kept at most; past it the cache starts again empty. */
const MAX_CACHED = 100_000;

export class PgTokenLookup implements TokenLookup {
  private readonly pool: pg.Pool;
  private readonly cache = new Map<string, TokenIdentity>();
  private seen: number;

  constructor(
    url: string,
    private readonly revocations: Int32Array,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'cgihost-tokens' });
    this.pool.on('error', () => {});
    this.seen = Atomics.load(revocations, 0);
  }

  authenticate(token: string): TokenIdentity | null | Promise<TokenIdentity | null> {
    const now = Atomics.load(this.revocations, 0);
    if (now !== this.seen) {
      this.cache.clear();
      this.seen = now;
    }
    return this.cache.get(token) ?? this.miss(token, now);
  }

  private async miss(token: string, epoch: number): Promise<TokenIdentity | null> {
    const hash = createHash('sha256').update(token).digest('hex');
    let rows: TokenIdentity[];
    try {
      rows = (await this.pool.query<TokenIdentity>('SELECT uid, session_id AS "sessionId" FROM sessions WHERE token_hash = $1', [hash]))
        .rows;
    } catch (err) {
      throw mapError(err);
    }
    const found = rows[0] ?? null;
    if (found && Atomics.load(this.revocations, 0) === epoch) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(token, found);
    }
    return found;
  }

  close(): void {
    void this.pool.end().catch(() => {});
  }
}
