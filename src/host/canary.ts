/**
 * The canary split and its judge (SPEC §5): a stable share of users, chosen
 * by a hash of the uid, goes to the canary; a canary whose 5xx rate is worse
 * than stable's beyond the policy's margin is sent back to 0% by itself.
 */
import type { Config } from '../config/schema.js';
import type { VersionCounts } from './slot-counters.js';

export class CanarySplit {
  percent: number;

  constructor(
    private readonly cgi: string,
    percent: number,
    private readonly policy: Config['canaryPolicy'],
    /** Called once when the split goes back to 0% by itself (an alert and a log line). */
    private readonly rolledBack: (why: string) => void,
  ) {
    this.percent = percent;
  }

  /** Whether this user's requests go to the canary (requests without a uid never do). */
  takes(uid: string | undefined): boolean {
    return uid !== undefined && this.percent > 0 && bucketOf(this.cgi, uid) < this.percent;
  }

  /** After each canary request: roll back once the canary has served enough and does worse than stable by the margin. */
  judge(canary: VersionCounts, stable: VersionCounts | undefined): void {
    if (this.percent === 0 || !stable || canary.requests < this.policy.minRequests) return;
    if (canary.errorRate() - stable.errorRate() > this.policy.maxErrorRateDelta) {
      this.rollBack(`canary 5xx rate ${(canary.errorRate() * 100).toFixed(1)}% vs stable ${(stable.errorRate() * 100).toFixed(1)}%`);
    }
  }

  rollBack(why: string): void {
    if (this.percent === 0) return;
    this.percent = 0;
    this.rolledBack(why);
  }
}

/** 0..99, stable per (CGI, uid): the same user always gets the same version of a CGI. */
export function bucketOf(cgi: string, uid: string): number {
  // FNV-1a over "cgi:uid".
  let h = 0x811c9dc5;
  const s = `${cgi}:${uid}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}
