/**
 * Users and sessions. Passwords arrive already hashed (scrypt, in the CGI) and
 * tokens as their hash: the store never sees a secret.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import { newSessionId, newUid } from './ids.js';
import { invalid, requireString } from './validate.js';

const USERNAME = /^[a-z0-9_]{3,32}$/;
/** Users are never deleted, so a uid seen once stays valid; bounded so memory stays flat. */
const MAX_KNOWN_USERS = 200_000;

export class Accounts {
  private readonly known = new Set<string>();
  private readonly userExists: Statement<[string], number>;
  private readonly nameTaken: Statement<[string], number>;
  private readonly insertUser: Statement<[string, string, string, number]>;
  private readonly byName: Statement<[string], { uid: string; passwordHash: string; disabled: number }>;
  private readonly disabledAt: Statement<[string], number | null>;
  private readonly insertSession: Statement<[string, string, string, string | null, number]>;
  private readonly deleteSession: Statement<[string]>;

  constructor(db: Db) {
    this.userExists = db.prepare<[string], number>('SELECT 1 FROM users WHERE uid = ?').pluck();
    this.nameTaken = db.prepare<[string], number>('SELECT 1 FROM users WHERE username = ?').pluck();
    this.insertUser = db.prepare('INSERT INTO users (uid, username, password_hash, created_at) VALUES (?, ?, ?, ?)');
    this.byName = db.prepare(
      'SELECT uid, password_hash AS passwordHash, disabled_at IS NOT NULL AS disabled FROM users WHERE username = ?',
    );
    this.disabledAt = db.prepare<[string], number | null>('SELECT disabled_at FROM users WHERE uid = ?').pluck();
    this.insertSession = db.prepare('INSERT INTO sessions (token_hash, session_id, uid, device_id, created_at) VALUES (?, ?, ?, ?, ?)');
    this.deleteSession = db.prepare('DELETE FROM sessions WHERE session_id = ?');
  }

  exists(uid: unknown): uid is string {
    if (typeof uid !== 'string') return false;
    if (this.known.has(uid)) return true;
    if (this.userExists.get(uid) === undefined) return false;
    if (this.known.size >= MAX_KNOWN_USERS) this.known.clear();
    this.known.add(uid);
    return true;
  }

  /** Fails with NO_SUCH_USER listing the unknown ones. */
  requireUsers(uids: readonly string[]): void {
    const unknown = uids.filter((u) => !this.exists(u));
    if (unknown.length > 0) {
      throw new CgiError('NO_SUCH_USER', unknown.length === 1 ? 'no such user' : 'no such users', { uids: unknown });
    }
  }

  /** A transaction was lost: a uid read inside it may not exist after all. */
  forget(): void {
    this.known.clear();
  }

  createUser(tx: Tx, a: { username: string; passwordHash: string }): { uid: string } {
    if (typeof a.username !== 'string' || !USERNAME.test(a.username)) invalid('username must match ^[a-z0-9_]{3,32}$');
    requireString(a.passwordHash, 'passwordHash', 1024);
    if (this.nameTaken.get(a.username) !== undefined) {
      throw new CgiError('USERNAME_TAKEN', 'this username is taken');
    }
    let uid = newUid();
    while (this.userExists.get(uid) !== undefined) uid = newUid();
    this.insertUser.run(uid, a.username, a.passwordHash, tx.now);
    return { uid };
  }

  findUserByName(a: { username: string }): { uid: string; passwordHash: string; disabled: boolean } | null {
    if (typeof a.username !== 'string') return null;
    const row = this.byName.get(a.username);
    return row ? { uid: row.uid, passwordHash: row.passwordHash, disabled: row.disabled === 1 } : null;
  }

  createSession(tx: Tx, a: { uid: string; tokenHash: string; deviceId?: string }): { sessionId: string } {
    requireString(a.tokenHash, 'tokenHash', 256);
    if (a.deviceId !== undefined) requireString(a.deviceId, 'deviceId', 256);
    if (!this.exists(a.uid)) throw new CgiError('NO_SUCH_USER', 'no such user');
    // A login that checked the password just before an administrator disabled the account gets no session.
    if (this.disabledAt.get(a.uid) != null) throw new CgiError('ACCOUNT_DISABLED', 'this account is disabled');
    const sessionId = newSessionId();
    this.insertSession.run(a.tokenHash, sessionId, a.uid, a.deviceId ?? null, tx.now);
    return { sessionId };
  }

  revokeSession(a: { sessionId: string }): { revoked: boolean } {
    if (typeof a.sessionId !== 'string') return { revoked: false };
    return { revoked: this.deleteSession.run(a.sessionId).changes > 0 };
  }
}
