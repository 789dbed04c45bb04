/**
 * limits.sendPerMinute (SPEC §10): each sender has a bucket of `perMinute`
 * messages that refills continuously over a minute (Synapse's rc_message is
 * the same shape: a rate and a burst). A full bucket lets a burst of
 * `perMinute` through; after that a sender keeps `perMinute` a minute, and the
 * next message past it is 429 RATE_LIMITED with the seconds until one
 * message's worth has refilled. Only new messages spend: an idempotent retry
 * of one already stored does not.
 *
 * In memory, in the store thread (the one writer sees every send). A
 * PostgreSQL store keeps the buckets in its database so several hosts share them.
 */
import { CgiError } from '../errors.js';

/** Buckets kept at most; past it they are dropped (everyone starts full again), so memory stays flat. */
const MAX_BUCKETS = 200_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class SendLimit {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(private readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
  }

  /** Throws RATE_LIMITED when `uid` has no message left now. Spends nothing. */
  admit(uid: string, now: number): void {
    if (this.perMinute <= 0) return;
    const tokens = this.level(uid, now);
    if (tokens >= 1) return;
    const retryAfterSec = Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
    throw new CgiError('RATE_LIMITED', `at most ${this.perMinute} messages a minute`, {
      retryAfterSec,
      sendPerMinute: this.perMinute,
    });
  }

  /** A new message was stored for `uid`. */
  spend(uid: string, now: number): void {
    if (this.perMinute <= 0) return;
    const tokens = this.level(uid, now) - 1;
    if (!this.buckets.has(uid) && this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
    this.buckets.set(uid, { tokens, at: now });
  }

  private level(uid: string, now: number): number {
    const b = this.buckets.get(uid);
    if (!b) return this.perMinute;
    const tokens = Math.min(this.perMinute, b.tokens + Math.max(0, now - b.at) * this.perMs);
    // A full bucket is the same as none.
    if (tokens >= this.perMinute) this.buckets.delete(uid);
    return tokens;
  }
}
