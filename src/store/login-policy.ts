/**
 * Who may try a password now (README "Login throttling"), after Synapse's
 * rc_login, which keeps separate budgets per address and per account:
 *
 * - an account: `accountFailures` wrong passwords within the window and its
 *   logins are refused (429) until the oldest leaves the window; one success
 *   clears its count. This is what stops guessing one person's password.
 * - an address: a much larger budget, `addressFailures`, because an address
 *   is often many people (a campus NAT, a mobile carrier, a proxy we do not
 *   trust): it stops one machine spraying guesses over many accounts, and a
 *   success does not clear it (the sprayer may own one account).
 * - an address over its budget still lets in the accounts that signed in
 *   from it successfully before (within `knownForMs`): other people's
 *   failures from a shared address never lock out someone who has used it.
 *   The exemption is decided before the password is checked, so it tells a
 *   guesser nothing, and the account's own budget still applies.
 *
 * In memory, in the store thread: a restart forgets it (a PostgreSQL store
 * keeps it in its database so that several hosts count together).
 */
import { LoginThrottle } from './login-throttle.js';

export interface LoginPolicyOptions {
  accountFailures?: number;
  addressFailures?: number;
  windowMs?: number;
  /** How long a successful (address, account) pair stays exempt from its address's budget (default 30 days). */
  knownForMs?: number;
}

/** (address, account) pairs remembered at most; past it the oldest go first. */
const MAX_KNOWN = 100_000;

export class LoginPolicy {
  private readonly accounts: LoginThrottle;
  private readonly addresses: LoginThrottle;
  /** `${ip} ${username}` → when it last signed in, oldest first (Map order). */
  private readonly known = new Map<string, number>();
  private readonly knownForMs: number;

  constructor(opts: LoginPolicyOptions = {}) {
    const windowMs = opts.windowMs ?? 60_000;
    this.accounts = new LoginThrottle(opts.accountFailures ?? 5, windowMs);
    this.addresses = new LoginThrottle(opts.addressFailures ?? 100, windowMs);
    this.knownForMs = opts.knownForMs ?? 30 * 86_400_000;
  }

  check(username: string, ip: string, now = Date.now()): { allowed: boolean; retryAfterSec: number } {
    const account = this.accounts.check([username], now);
    if (!account.allowed || this.isKnown(ip, username, now)) return account;
    return this.addresses.check([ip], now);
  }

  record(username: string, ip: string, ok: boolean, now = Date.now()): void {
    if (ok) {
      this.accounts.clear([username]);
      const pair = `${ip} ${username}`;
      this.known.delete(pair);
      this.known.set(pair, now);
      if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
      return;
    }
    this.accounts.recordFailure([username], now);
    this.addresses.recordFailure([ip], now);
  }

  /** An administrator reset the password: the account's count starts again. */
  forgetAccount(username: string): void {
    this.accounts.clear([username]);
  }

  private isKnown(ip: string, username: string, now: number): boolean {
    const at = this.known.get(`${ip} ${username}`);
    return at !== undefined && now - at < this.knownForMs;
  }
}
