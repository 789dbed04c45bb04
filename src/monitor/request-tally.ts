/**
 * The request observer: the only monitoring code on the hot path. Per CGI it
 * keeps plain numbers (requests by version and code, latency bucket counts,
 * the latency sum, requests in flight); nothing is allocated and no label is
 * hashed per request. The Prometheus series read these when /metrics is
 * scraped, and the dashboard's windows once a second.
 */
import { BUCKET_SLOTS, bucketIndex } from './latency.js';
import type { RequestObserver } from './observer.js';
import type { RecentErrors } from './recent-errors.js';

/** Cumulative counts of one CGI since the host started. */
export interface CgiCounts {
  requests: number;
  errors5xx: number;
  /** Per latency bucket (LATENCY_BUCKETS, then +Inf); absent when not measured. */
  buckets?: ArrayLike<number>;
}

/** Requests with no version chosen (quarantined, not loaded) are counted under this version label. */
export const NO_VERSION = 'none';

export class CgiTally implements CgiCounts {
  inflight = 0;
  requests = 0;
  errors5xx = 0;
  /** Service seconds (held long-poll time left out), summed over every request. */
  sum = 0;
  readonly buckets = new Float64Array(BUCKET_SLOTS);
  /** Requests held in a long-poll, and how long, apart from service time. */
  held = 0;
  heldSum = 0;
  readonly heldBuckets = new Float64Array(BUCKET_SLOTS);
  /** version -> code -> requests. */
  readonly byVersion = new Map<string, Map<string, { n: number }>>();

  count(version: string, code: string): void {
    let byCode = this.byVersion.get(version);
    if (!byCode) this.byVersion.set(version, (byCode = new Map()));
    const c = byCode.get(code);
    if (c) c.n++;
    else byCode.set(code, { n: 1 });
  }
}

export class RequestTally implements RequestObserver {
  readonly cgis = new Map<string, CgiTally>();

  constructor(private readonly errors: RecentErrors) {}

  started(cgi: string): void {
    this.tally(cgi).inflight++;
  }

  finished(cgi: string, version: string, code: string, status: number, seconds: number, requestId?: string, heldSeconds = 0): void {
    const t = this.tally(cgi);
    t.inflight--;
    t.requests++;
    t.sum += seconds;
    t.buckets[bucketIndex(seconds)]++;
    if (heldSeconds > 0) {
      t.held++;
      t.heldSum += heldSeconds;
      t.heldBuckets[bucketIndex(heldSeconds)]++;
    }
    t.count(version || NO_VERSION, code);
    if (status >= 500) {
      t.errors5xx++;
      this.errors.request(cgi, version, code, status, requestId);
    }
  }

  counts(cgi: string): CgiCounts | undefined {
    return this.cgis.get(cgi);
  }

  inflight(cgi: string): number {
    return this.cgis.get(cgi)?.inflight ?? 0;
  }

  private tally(cgi: string): CgiTally {
    let t = this.cgis.get(cgi);
    if (!t) this.cgis.set(cgi, (t = new CgiTally()));
    return t;
  }
}

/** With metrics off nothing is counted on the hot path; only server errors are kept for the dashboard. */
export function errorsOnlyObserver(errors: RecentErrors): RequestObserver {
  return {
    started() {},
    finished(cgi, version, code, status, _seconds, requestId) {
      if (status >= 500) errors.request(cgi, version, code, status, requestId);
    },
  };
}
