/**
 * The administrators' operations on accounts (StoreAdminApi): list, disable,
 * enable, reset a password. Ending sessions deletes their rows, as logout
 * does; the store bumps the revocation counter after the commit, so every
 * token cache drops them before the call is answered.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import type { ListUsersArgs, UserSummary } from './admin-api.js';
import { CgiError } from '../errors.js';
import { invalid, isIntIn, requireString } from './validate.js';

interface UserRow {
  uid: string;
  username: string;
  createdAt: number;
  disabledAt: number | null;
  sessions: number;
}

const COLUMNS = `u.uid, u.username, u.created_at AS createdAt, u.disabled_at AS disabledAt,
  (SELECT COUNT(*) FROM sessions s WHERE s.uid = u.uid) AS sessions`;

export class UserAdmin {
  private readonly page: Statement<[string, string, string, number], UserRow>;
  private readonly one: Statement<[string], UserRow>;
  private readonly setDisabled: Statement<[number | null, string]>;
  private readonly setHash: Statement<[string, string]>;
  private readonly endSessions: Statement<[string]>;

  constructor(db: Db) {
    // Usernames are [a-z0-9_]: every one that starts with the prefix sorts from it to below prefix + '~'.
    this.page = db.prepare(
      `SELECT ${COLUMNS} FROM users u WHERE u.username >= ? AND u.username < ? AND u.username > ? ORDER BY u.username LIMIT ?`,
    );
    this.one = db.prepare(`SELECT ${COLUMNS} FROM users u WHERE u.username = ?`);
    this.setDisabled = db.prepare('UPDATE users SET disabled_at = ? WHERE uid = ?');
    this.setHash = db.prepare('UPDATE users SET password_hash = ? WHERE uid = ?');
    this.endSessions = db.prepare('DELETE FROM sessions WHERE uid = ?');
  }

  list(a: ListUsersArgs): { users: UserSummary[]; next?: string } {
    const prefix = a.prefix ?? '';
    if (typeof prefix !== 'string' || !/^[a-z0-9_]{0,32}$/.test(prefix)) invalid('prefix must be up to 32 characters of [a-z0-9_]');
    const limit = a.limit ?? 100;
    if (!isIntIn(limit, 1, 1000)) invalid('limit must be an integer from 1 to 1000');
    if (a.after !== undefined) requireString(a.after, 'after', 64);
    const rows = this.page.all(prefix, `${prefix}~`, a.after ?? '', limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    const users = rows.map(summary);
    return more ? { users, next: users[users.length - 1]!.username } : { users };
  }

  get(username: unknown): UserSummary {
    return summary(this.find(username));
  }

  /** Returns the uid whose sessions were ended (when disabling), for the caller to tell token caches and held syncs. */
  setUserDisabled(tx: Tx, a: { username: string; disabled: boolean }): { user: UserSummary; ended: number } {
    if (typeof a.disabled !== 'boolean') invalid('disabled must be true or false');
    const row = this.find(a.username);
    let ended = 0;
    if (a.disabled) {
      if (row.disabledAt === null) this.setDisabled.run(tx.now, row.uid);
      ended = this.endSessions.run(row.uid).changes;
      return { user: summary({ ...row, disabledAt: row.disabledAt ?? tx.now, sessions: 0 }), ended };
    }
    if (row.disabledAt !== null) this.setDisabled.run(null, row.uid);
    return { user: summary({ ...row, disabledAt: null }), ended };
  }

  resetPassword(_tx: Tx, a: { username: string; passwordHash: string }): { uid: string; revokedSessions: number } {
    requireString(a.passwordHash, 'passwordHash', 1024);
    const row = this.find(a.username);
    this.setHash.run(a.passwordHash, row.uid);
    return { uid: row.uid, revokedSessions: this.endSessions.run(row.uid).changes };
  }

  private find(username: unknown): UserRow {
    if (typeof username !== 'string') invalid('username is required');
    const row = this.one.get(username);
    if (!row) throw new CgiError('NO_SUCH_USER', `no user is named "${username.slice(0, 64)}"`);
    return row;
  }
}

function summary(r: UserRow): UserSummary {
  const u: UserSummary = { uid: r.uid, username: r.username, createdAt: r.createdAt, sessions: r.sessions };
  if (r.disabledAt !== null) u.disabledAt = r.disabledAt;
  return u;
}
