/**
 * The one set of request counters of a slot: what the HTTP front records per
 * request, and what the canary judge, the admin API, the dashboard's windows
 * and /metrics all read. Plain numbers on the hot path: nothing allocated and
 * no label hashed per request (a Map lookup by version, a few increments).
 */
import { BUCKET_SLOTS, bucketIndex, quantileMs } from './latency.js';

/** Cumulative counts since the slot was made (the dashboard diffs them once a second). */
export interface CgiCounts {
  requests: number;
  errors5xx: number;
  /** Per latency bucket (LATENCY_BUCKETS, then +Inf); absent when not measured. */
  buckets?: ArrayLike<number>;
}

/** Requests turned away before a version was chosen (quarantined, not loaded) count under this version. */
export const NO_VERSION = 'none';

/** The requests one version answered (or NO_VERSION's). */
export class VersionCounts implements CgiCounts {
  requests = 0;
  errors5xx = 0;
  /** Service seconds (time held in a long-poll left out), summed. */
  sum = 0;
  readonly buckets = new Float64Array(BUCKET_SLOTS);
  /** Requests held in a long-poll, and for how long, apart from service time. */
  held = 0;
  heldSum = 0;
  readonly heldBuckets = new Float64Array(BUCKET_SLOTS);
  /** code ('OK' or an error code) -> requests. */
  readonly byCode = new Map<string, { n: number }>();

  record(status: number, code: string, seconds: number, heldSeconds = 0): void {
    this.requests++;
    this.sum += seconds;
    this.buckets[bucketIndex(seconds)]!++;
    if (heldSeconds > 0) {
      this.held++;
      this.heldSum += heldSeconds;
      this.heldBuckets[bucketIndex(heldSeconds)]!++;
    }
    if (status >= 500) this.errors5xx++;
    const c = this.byCode.get(code);
    if (c) c.n++;
    else this.byCode.set(code, { n: 1 });
  }

  /** Share of requests answered 5xx (the canary judge compares these). */
  errorRate(): number {
    return this.requests === 0 ? 0 : this.errors5xx / this.requests;
  }

  toJSON() {
    const errors: Record<string, number> = {};
    for (const [code, c] of this.byCode) if (code !== 'OK') errors[code] = c.n;
    return {
      requests: this.requests,
      errors,
      errors5xx: this.errors5xx,
      p50Ms: round(quantileMs(this.buckets, 0.5)),
      p99Ms: round(quantileMs(this.buckets, 0.99)),
      heldRequests: this.held,
    };
  }
}

export class SlotCounters extends VersionCounts {
  /** Requests being served now. */
  inflight = 0;
  readonly byVersion = new Map<string, VersionCounts>();

  started(): void {
    this.inflight++;
  }

  /** Counts a finished request for the slot and its version; returns the version's counts. */
  finished(version: string, status: number, code: string, seconds: number, heldSeconds = 0): VersionCounts {
    this.inflight--;
    this.record(status, code, seconds, heldSeconds);
    const v = this.version(version || NO_VERSION);
    v.record(status, code, seconds, heldSeconds);
    return v;
  }

  version(version: string): VersionCounts {
    let v = this.byVersion.get(version);
    if (!v) this.byVersion.set(version, (v = new VersionCounts()));
    return v;
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 1000) / 1000;
}
