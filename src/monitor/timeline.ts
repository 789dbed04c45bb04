/**
 * What happened recently, sampled off the hot path: per CGI, the requests,
 * server errors and latency buckets of each of the last 60 seconds (for live
 * rates and alert windows), and every few seconds a point of each series the
 * dashboard draws, over the last ten minutes.
 */
import { BUCKET_SLOTS, quantileMs } from '../host/latency.js';
import type { CgiCounts } from '../host/slot-counters.js';

/** Requests in one span of time. */
export interface WindowStats {
  seconds: number;
  requests: number;
  errors5xx: number;
  rps: number;
  /** Share of requests answered 5xx (0..1); 0 when there were none. */
  errorRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

interface Second {
  requests: number;
  errors5xx: number;
  buckets: Float64Array | null;
  /** When buckets are not measured (metrics off): the CGI's own recent p99. */
  p99Ms: number | null;
}

const SECONDS_KEPT = 60;
const ZERO = { requests: 0, errors5xx: 0, buckets: null };

/** Per-second request counts of one CGI, from the differences of its cumulative counts. */
class CgiSeconds {
  private readonly ring: Second[] = [];
  private last: { requests: number; errors5xx: number; buckets: Float64Array | null } | undefined;

  add(now: CgiCounts, p99Ms: number | null): void {
    // Counts are cumulative from zero; they restart when a removed CGI comes back with fresh counts.
    const prev = this.last && this.last.requests <= now.requests ? this.last : ZERO;
    const buckets = now.buckets ? Float64Array.from(now.buckets) : null;
    this.last = { requests: now.requests, errors5xx: now.errors5xx, buckets };
    let delta: Float64Array | null = null;
    if (buckets) {
      delta = new Float64Array(BUCKET_SLOTS);
      for (let i = 0; i < BUCKET_SLOTS; i++) delta[i] = buckets[i]! - (prev.buckets?.[i] ?? 0);
    }
    this.ring.push({ requests: now.requests - prev.requests, errors5xx: now.errors5xx - prev.errors5xx, buckets: delta, p99Ms });
    if (this.ring.length > SECONDS_KEPT) this.ring.shift();
  }

  /** While the CGI is gone: its old seconds must not count as recent when it comes back. */
  forgetSeconds(): void {
    this.ring.length = 0;
  }

  window(seconds: number): WindowStats {
    const span = this.ring.slice(-seconds);
    let requests = 0;
    let errors5xx = 0;
    let fallbackP99: number | null = null;
    const buckets = new Float64Array(BUCKET_SLOTS);
    let measured = span.length > 0;
    for (const s of span) {
      requests += s.requests;
      errors5xx += s.errors5xx;
      if (s.buckets) for (let i = 0; i < BUCKET_SLOTS; i++) buckets[i]! += s.buckets[i]!;
      else measured = false;
      if (s.requests > 0) fallbackP99 = s.p99Ms;
    }
    const n = Math.max(1, span.length);
    return {
      seconds: span.length,
      requests,
      errors5xx,
      rps: requests / n,
      errorRate: requests ? errors5xx / requests : 0,
      p50Ms: measured ? quantileMs(buckets, 0.5) : null,
      p99Ms: measured ? quantileMs(buckets, 0.99) : requests ? fallbackP99 : null,
    };
  }
}

export class RequestWindows {
  /** Kept after a CGI is removed: its cumulative counts go on if it comes back. */
  private readonly cgis = new Map<string, CgiSeconds>();
  private current: string[] = [];

  /** Once a second: the cumulative counts of every CGI there is now. */
  sample(counts: Map<string, { counts: CgiCounts; p99Ms: number | null }>): void {
    for (const [name, c] of counts) {
      let s = this.cgis.get(name);
      if (!s) this.cgis.set(name, (s = new CgiSeconds()));
      s.add(c.counts, c.p99Ms);
    }
    for (const [name, s] of this.cgis) if (!counts.has(name)) s.forgetSeconds();
    this.current = [...counts.keys()];
  }

  /** The last `seconds` (at most 60) of one CGI. */
  window(cgi: string, seconds: number): WindowStats {
    return this.cgis.get(cgi)?.window(seconds) ?? new CgiSeconds().window(0);
  }

  /** The CGIs of the last sample. */
  names(): string[] {
    return this.current;
  }
}

/**
 * Named series sharing one time axis: every point adds a value (or null) to
 * each series; a series that appears late is padded with nulls, one that is
 * only nulls for the whole span is dropped.
 */
export class SeriesSet {
  readonly times: number[] = [];
  private readonly series = new Map<string, Array<number | null>>();

  constructor(private readonly maxPoints: number) {}

  push(at: number, values: Map<string, number | null>): void {
    this.times.push(at);
    const n = this.times.length;
    for (const [key, v] of values) {
      if (!this.series.has(key)) this.series.set(key, new Array<number | null>(n - 1).fill(null));
      this.series.get(key)!.push(v);
    }
    for (const [key, arr] of this.series) if (arr.length < n) arr.push(null);
    if (n > this.maxPoints) {
      this.times.shift();
      for (const [key, arr] of this.series) {
        arr.shift();
        if (arr.every((v) => v === null)) this.series.delete(key);
      }
    }
  }

  /** The last `points` points of every series, keyed by name. */
  recent(points = this.maxPoints): { times: number[]; series: Record<string, Array<number | null>> } {
    const series: Record<string, Array<number | null>> = {};
    for (const [key, arr] of this.series) series[key] = arr.slice(-points);
    return { times: this.times.slice(-points), series };
  }
}
