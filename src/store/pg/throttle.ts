/**
 * The login throttle and the send limit on PostgreSQL, counted in the shared
 * `throttle` table so that every host counts together. The rules are those of
 * login-policy.ts / login-throttle.ts and send-limit.ts:
 *
 * - a failed login is a row (kind 'login_account' / 'login_address', its key,
 *   window_start = the failure's time, count = failures at that ms), added by
 *   INSERT … ON CONFLICT DO UPDATE; a key is refused while its newest
 *   `max` failures are all inside the window, until the oldest of them leaves
 *   it; a success deletes the account's rows and remembers the (address,
 *   account) pair ('login_known', window_start 0, count = when);
 * - a sender's bucket is one row ('send', uid): window_start is when it was
 *   last spent, count its level in millionths of a message. It is read and
 *   written in the send's transaction after the sender's inbox head is locked,
 *   so two sends of one user (on any hosts) never spend the same level.
 */
import { CgiError } from '../../errors.js';
import type { LoginThrottleOptions } from '../options.js';
import type { PgDb, PgTx } from './db.js';

const ACCOUNT = 'login_account';
const ADDRESS = 'login_address';
const KNOWN = 'login_known';
const SEND = 'send';
const MICRO = 1_000_000;

export class PgLoginPolicy {
  private readonly accountFailures: number;
  private readonly addressFailures: number;
  private readonly windowMs: number;
  private readonly knownForMs: number;
  private lastSweep = 0;

  constructor(
    private readonly db: PgDb,
    opts: LoginThrottleOptions & { knownForMs?: number } = {},
  ) {
    this.accountFailures = opts.accountFailures ?? 5;
    this.addressFailures = opts.addressFailures ?? 100;
    this.windowMs = opts.windowMs ?? 60_000;
    this.knownForMs = opts.knownForMs ?? 30 * 86_400_000;
  }

  async check(username: string, ip: string, now = Date.now()): Promise<{ allowed: boolean; retryAfterSec: number }> {
    const account = await this.checkKey(ACCOUNT, username, this.accountFailures, now);
    if (!account.allowed || (await this.isKnown(ip, username, now))) return account;
    return this.checkKey(ADDRESS, ip, this.addressFailures, now);
  }

  async record(username: string, ip: string, ok: boolean, now = Date.now()): Promise<void> {
    if (ok) {
      await this.db.tx(async (tx) => {
        await tx.query('DELETE FROM throttle WHERE kind = $1 AND key = $2', [ACCOUNT, username]);
        await tx.query(
          `INSERT INTO throttle (kind, key, window_start, count) VALUES ($1, $2, 0, $3)
           ON CONFLICT (kind, key, window_start) DO UPDATE SET count = EXCLUDED.count`,
          [KNOWN, `${ip} ${username}`, now],
        );
      });
      return;
    }
    await this.db.query(
      `INSERT INTO throttle (kind, key, window_start, count) VALUES ($1, $2, $5, 1), ($3, $4, $5, 1)
       ON CONFLICT (kind, key, window_start) DO UPDATE SET count = throttle.count + 1`,
      [ACCOUNT, username, ADDRESS, ip, now],
    );
    if (now - this.lastSweep > this.windowMs) {
      this.lastSweep = now;
      await this.db.query(`DELETE FROM throttle WHERE (kind IN ($1, $2) AND window_start <= $3) OR (kind = $4 AND count <= $5)`, [
        ACCOUNT,
        ADDRESS,
        now - this.windowMs,
        KNOWN,
        now - this.knownForMs,
      ]);
    }
  }

  /** An administrator reset the password: the account's count starts again. */
  async forgetAccount(username: string): Promise<void> {
    await this.db.query('DELETE FROM throttle WHERE kind = $1 AND key = $2', [ACCOUNT, username]);
  }

  private async checkKey(kind: string, key: string, max: number, now: number): Promise<{ allowed: boolean; retryAfterSec: number }> {
    const rows = await this.db.query<{ window_start: number; count: number }>(
      'SELECT window_start, count FROM throttle WHERE kind = $1 AND key = $2 AND window_start > $3 ORDER BY window_start DESC',
      [kind, key, now - this.windowMs],
    );
    // The newest `max` failures (login-throttle.ts keeps no more): refused while all of them are in the window.
    let n = 0;
    for (const r of rows) {
      n += r.count;
      if (n >= max) {
        const waitMs = r.window_start + this.windowMs - now;
        return waitMs > 0 ? { allowed: false, retryAfterSec: Math.ceil(waitMs / 1000) } : { allowed: true, retryAfterSec: 0 };
      }
    }
    return { allowed: true, retryAfterSec: 0 };
  }

  private async isKnown(ip: string, username: string, now: number): Promise<boolean> {
    const rows = await this.db.query<{ count: number }>('SELECT count FROM throttle WHERE kind = $1 AND key = $2 AND window_start = 0', [
      KNOWN,
      `${ip} ${username}`,
    ]);
    return rows.length > 0 && now - rows[0]!.count < this.knownForMs;
  }
}

/** limits.sendPerMinute (send-limit.ts's bucket), shared by every host. */
export class PgSendLimit {
  private readonly perMs: number;

  constructor(readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
  }

  /** The refusal of a send, `retryAfterSec` from now (schema.ts's cgihost_send_direct computes it as take() does). */
  limited(retryAfterSec: number): CgiError {
    return new CgiError('RATE_LIMITED', `at most ${this.perMinute} messages a minute`, { retryAfterSec, sendPerMinute: this.perMinute });
  }

  /**
   * Spends one message of `uid`'s bucket in `tx` (rolled back with it), or
   * throws RATE_LIMITED. Call with the sender's inbox head locked.
   */
  async take(tx: PgTx, uid: string): Promise<void> {
    if (this.perMinute <= 0) return;
    const now = tx.now;
    const { rows } = await tx.query<{ window_start: number; count: number }>(
      'SELECT window_start, count FROM throttle WHERE kind = $1 AND key = $2',
      [SEND, uid],
    );
    const b = rows[0];
    const tokens = b ? Math.min(this.perMinute, b.count / MICRO + Math.max(0, now - b.window_start) * this.perMs) : this.perMinute;
    if (tokens < 1) {
      throw this.limited(Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000)));
    }
    const level = Math.floor((tokens - 1) * MICRO);
    if (b) await tx.query('UPDATE throttle SET window_start = $3, count = $4 WHERE kind = $1 AND key = $2', [SEND, uid, now, level]);
    else await tx.query('INSERT INTO throttle (kind, key, window_start, count) VALUES ($1, $2, $3, $4)', [SEND, uid, now, level]);
  }
}
