/**
 * Login throttling, in memory: after `maxFailures` failures of one key (a
 * username, an address: the caller picks) within `windowMs`, logins with that
 * key are refused until the oldest of those failures leaves the window.
 * Memory is bounded by sweeping expired keys as failures are recorded.
 */
export class LoginThrottle {
  /** Failure times per key, oldest first, at most maxFailures kept. */
  private readonly failures = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
  ) {}

  check(keys: readonly string[], now = Date.now()): { allowed: boolean; retryAfterSec: number } {
    let waitMs = 0;
    for (const key of keys) {
      const times = this.live(key, now);
      if (times && times.length >= this.maxFailures) {
        waitMs = Math.max(waitMs, times[0]! + this.windowMs - now);
      }
    }
    return waitMs > 0 ? { allowed: false, retryAfterSec: Math.ceil(waitMs / 1000) } : { allowed: true, retryAfterSec: 0 };
  }

  recordFailure(keys: readonly string[], now = Date.now()): void {
    for (const key of keys) {
      const times = this.live(key, now) ?? [];
      times.push(now);
      if (times.length > this.maxFailures) times.shift();
      this.failures.set(key, times);
    }
    if (now - this.lastSweep > this.windowMs) this.sweep(now);
  }

  clear(keys: readonly string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }

  /** The key's failures still inside the window (drops the expired ones). */
  private live(key: string, now: number): number[] | undefined {
    const times = this.failures.get(key);
    if (!times) return undefined;
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    if (times.length === 0) {
      this.failures.delete(key);
      return undefined;
    }
    return times;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const key of this.failures.keys()) this.live(key, now);
  }
}
