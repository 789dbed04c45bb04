/** Request counts and recent latencies of one CGI (or one version of it), for the admin API and canary judgement. */
import type { RequestOutcome } from '../errors.js';

const RING = 1024;

export class SlotStats {
  requests = 0;
  errors5xx = 0;
  /** Requests held in a long-poll (their latency below is service time, without the wait). */
  held = 0;
  readonly byCode = new Map<RequestOutcome, number>();
  private readonly latencies = new Float64Array(RING);
  private filled = 0;
  private next = 0;

  record(status: number, code: RequestOutcome, ms: number, heldMs = 0): void {
    this.requests++;
    if (heldMs > 0) this.held++;
    if (status >= 500) this.errors5xx++;
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    this.latencies[this.next] = ms;
    this.next = (this.next + 1) % RING;
    if (this.filled < RING) this.filled++;
  }

  errorRate(): number {
    return this.requests === 0 ? 0 : this.errors5xx / this.requests;
  }

  /** Percentile over the last RING requests, in ms. */
  percentile(p: number): number | null {
    if (this.filled === 0) return null;
    const sorted = Array.from(this.latencies.subarray(0, this.filled)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  }

  toJSON() {
    return {
      requests: this.requests,
      errors: Object.fromEntries([...this.byCode].filter(([c]) => c !== 'OK')),
      errors5xx: this.errors5xx,
      p50Ms: this.percentile(50),
      p99Ms: this.percentile(99),
      heldRequests: this.held,
    };
  }
}
