/**
 * Users and sessions on PostgreSQL: accounts.ts and user-admin.ts as SQL.
 * Ending sessions (logout, disable, password reset) bumps the shared counter
 * `sessions_epoch` in the same transaction and NOTIFYs it on cgihost_revoke,
 * so every host's token cache drops what it holds.
 */
import { CgiError } from '../../errors.js';
import type { ListUsersArgs, UserSummary } from '../admin-api.js';
import { newSessionId, newUid } from '../ids.js';
import { invalid, isIntIn, requireString } from '../validate.js';
import { RELEASE_CHANNEL, REVOKE_CHANNEL, type PgDb, type PgTx } from './db.js';
import type { Queryable } from './schema.js';

const USERNAME = /^[a-z0-9_]{3,32}$/;
/** Users are never deleted, so a uid seen once stays valid; bounded so memory stays flat. */
const MAX_KNOWN_USERS = 200_000;

interface UserRow {
  uid: string;
  username: string;
  created_at: number;
  disabled_at: number | null;
  sessions: number;
  [k: string]: unknown;
}

const COLUMNS = `u.uid, u.username, u.created_at, u.disabled_at, (SELECT COUNT(*) FROM sessions s WHERE s.uid = u.uid)::bigint AS sessions`;

export class PgAccounts {
  private readonly known = new Set<string>();

  constructor(private readonly db: PgDb) {}

  async exists(uid: unknown, q: Queryable | PgDb = this.db): Promise<boolean> {
    if (typeof uid !== 'string') return false;
    if (this.known.has(uid)) return true;
    const rows = await rowsOf(q, 'SELECT 1 FROM users WHERE uid = $1', [uid]);
    if (rows.length === 0) return false;
    this.remember(uid);
    return true;
  }

  /** Fails with NO_SUCH_USER listing the unknown ones. */
  async requireUsers(uids: readonly string[], q: Queryable | PgDb = this.db): Promise<void> {
    const ask = [...new Set(uids)].filter((u) => !this.known.has(u));
    if (ask.length > 0) {
      const found = await rowsOf<{ uid: string }>(q, 'SELECT uid FROM users WHERE uid = ANY($1::text[])', [ask]);
      for (const r of found) this.remember(r.uid);
    }
    const unknown = uids.filter((u) => !this.known.has(u));
    if (unknown.length > 0) {
      throw new CgiError('NO_SUCH_USER', unknown.length === 1 ? 'no such user' : 'no such users', { uids: unknown });
    }
  }

  async createUser(tx: PgTx, a: { username: string; passwordHash: string }): Promise<{ uid: string }> {
    if (typeof a.username !== 'string' || !USERNAME.test(a.username)) invalid('username must match ^[a-z0-9_]{3,32}$');
    requireString(a.passwordHash, 'passwordHash', 1024);
    for (;;) {
      const uid = newUid();
      // A concurrent registration of the same name waits for the other to end, then finds it taken.
      const { rows } = await tx.query(
        'INSERT INTO users (uid, username, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING uid',
        [uid, a.username, a.passwordHash, tx.now],
      );
      if (rows.length > 0) return { uid };
      const taken = await tx.query('SELECT 1 FROM users WHERE username = $1', [a.username]);
      if (taken.rows.length > 0) throw new CgiError('USERNAME_TAKEN', 'this username is taken');
      // The uid was taken (2^-64): draw another.
    }
  }

  async findUserByName(a: { username: string }): Promise<{ uid: string; passwordHash: string; disabled: boolean } | null> {
    if (typeof a.username !== 'string') return null;
    const rows = await this.db.query<{ uid: string; password_hash: string; disabled_at: number | null }>(
      'SELECT uid, password_hash, disabled_at FROM users WHERE username = $1',
      [a.username],
    );
    const r = rows[0];
    return r ? { uid: r.uid, passwordHash: r.password_hash, disabled: r.disabled_at !== null } : null;
  }

  async createSession(tx: PgTx, a: { uid: string; tokenHash: string; deviceId?: string }): Promise<{ sessionId: string }> {
    requireString(a.tokenHash, 'tokenHash', 256);
    if (a.deviceId !== undefined) requireString(a.deviceId, 'deviceId', 256);
    // FOR SHARE: an administrator's disable waits for this session, or this sees it disabled.
    const { rows } = await tx.query<{ disabled_at: number | null }>('SELECT disabled_at FROM users WHERE uid = $1 FOR SHARE', [
      typeof a.uid === 'string' ? a.uid : '',
    ]);
    if (rows.length === 0) throw new CgiError('NO_SUCH_USER', 'no such user');
    // A login that checked the password just before an administrator disabled the account gets no session.
    if (rows[0]!.disabled_at !== null) throw new CgiError('ACCOUNT_DISABLED', 'this account is disabled');
    const sessionId = newSessionId();
    await tx.query('INSERT INTO sessions (token_hash, session_id, uid, device_id, created_at) VALUES ($1, $2, $3, $4, $5)', [
      a.tokenHash,
      sessionId,
      a.uid,
      a.deviceId ?? null,
      tx.now,
    ]);
    return { sessionId };
  }

  /** Returns the new sessions epoch when a session was deleted, else null. */
  async revokeSession(tx: PgTx, a: { sessionId: string }): Promise<number | null> {
    if (typeof a.sessionId !== 'string') return null;
    const { rows } = await tx.query('DELETE FROM sessions WHERE session_id = $1 RETURNING 1', [a.sessionId]);
    return rows.length > 0 ? bumpEpoch(tx) : null;
  }

  // administration (user-admin.ts)

  async list(a: ListUsersArgs): Promise<{ users: UserSummary[]; next?: string }> {
    const prefix = a.prefix ?? '';
    if (typeof prefix !== 'string' || !/^[a-z0-9_]{0,32}$/.test(prefix)) invalid('prefix must be up to 32 characters of [a-z0-9_]');
    const limit = a.limit ?? 100;
    if (!isIntIn(limit, 1, 1000)) invalid('limit must be an integer from 1 to 1000');
    if (a.after !== undefined) requireString(a.after, 'after', 64);
    // Usernames are [a-z0-9_]: every one that starts with the prefix sorts from it to below prefix + '~'.
    const rows = await this.db.query<UserRow>(
      `SELECT ${COLUMNS} FROM users u WHERE u.username >= $1 AND u.username < $2 AND u.username > $3 ORDER BY u.username LIMIT $4`,
      [prefix, `${prefix}~`, a.after ?? '', limit + 1],
    );
    const more = rows.length > limit;
    if (more) rows.pop();
    const users = rows.map(summary);
    return more ? { users, next: users[users.length - 1]!.username } : { users };
  }

  async get(username: unknown): Promise<UserSummary> {
    return summary(await this.find(this.db, username));
  }

  async setUserDisabled(tx: PgTx, a: { username: string; disabled: boolean }): Promise<{ user: UserSummary; uid: string }> {
    if (typeof a.disabled !== 'boolean') invalid('disabled must be true or false');
    const row = await this.find(tx, a.username, true);
    if (a.disabled) {
      if (row.disabled_at === null) await tx.query('UPDATE users SET disabled_at = $1 WHERE uid = $2', [tx.now, row.uid]);
      await tx.query('DELETE FROM sessions WHERE uid = $1', [row.uid]);
      await bumpEpoch(tx);
      await releaseEverywhere(tx, row.uid);
      return { user: summary({ ...row, disabled_at: row.disabled_at ?? tx.now, sessions: 0 }), uid: row.uid };
    }
    if (row.disabled_at !== null) await tx.query('UPDATE users SET disabled_at = NULL WHERE uid = $1', [row.uid]);
    return { user: summary({ ...row, disabled_at: null }), uid: row.uid };
  }

  async resetPassword(tx: PgTx, a: { username: string; passwordHash: string }): Promise<{ uid: string; revokedSessions: number }> {
    requireString(a.passwordHash, 'passwordHash', 1024);
    const row = await this.find(tx, a.username, true);
    await tx.query('UPDATE users SET password_hash = $1 WHERE uid = $2', [a.passwordHash, row.uid]);
    const ended = await tx.query('DELETE FROM sessions WHERE uid = $1 RETURNING 1', [row.uid]);
    await bumpEpoch(tx);
    await releaseEverywhere(tx, row.uid);
    return { uid: row.uid, revokedSessions: ended.rows.length };
  }

  private async find(q: Queryable | PgDb, username: unknown, lock = false): Promise<UserRow> {
    if (typeof username !== 'string') invalid('username is required');
    const rows = await rowsOf<UserRow>(q, `SELECT ${COLUMNS} FROM users u WHERE u.username = $1${lock ? ' FOR UPDATE' : ''}`, [username]);
    if (!rows[0]) throw new CgiError('NO_SUCH_USER', `no user is named "${username.slice(0, 64)}"`);
    return rows[0];
  }

  private remember(uid: string): void {
    if (this.known.size >= MAX_KNOWN_USERS) this.known.clear();
    this.known.add(uid);
  }
}

/** Moves the shared sessions epoch by one and NOTIFYs it (delivered at COMMIT); returns the new epoch. */
export async function bumpEpoch(tx: PgTx): Promise<number> {
  const { rows } = await tx.query<{ value: number }>(
    `INSERT INTO counters (name, value) VALUES ('sessions_epoch', 1)
     ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`,
  );
  const epoch = rows[0]!.value;
  await tx.query('SELECT pg_notify($1, $2)', [REVOKE_CHANNEL, String(epoch)]);
  return epoch;
}

/** NOTIFYs (delivered at COMMIT) every host to end `uid`'s held syncs, as this one does after the commit. */
async function releaseEverywhere(tx: PgTx, uid: string): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [RELEASE_CHANNEL, uid]);
}

/** Rows of a query on a PgDb (errors mapped) or a transaction. */
export async function rowsOf<R extends Record<string, unknown> = Record<string, unknown>>(
  q: Queryable | PgDb,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const r = await q.query<R>(text, values);
  return Array.isArray(r) ? r : (r as { rows: R[] }).rows;
}

function summary(r: UserRow): UserSummary {
  const u: UserSummary = { uid: r.uid, username: r.username, createdAt: r.created_at, sessions: r.sessions };
  if (r.disabled_at !== null) u.disabledAt = r.disabled_at;
  return u;
}
