/** The monitor's own bookkeeping: latency quantiles, per-second windows, series, recent errors. */
import { describe, expect, it } from 'vitest';
import { BUCKET_SLOTS, bucketIndex, LATENCY_BUCKETS, quantileMs } from '../../src/host/latency.js';
import { RecentErrors } from '../../src/monitor/recent-errors.js';
import { RequestWindows, SeriesSet } from '../../src/monitor/timeline.js';

const counts = (requests: number, errors5xx: number, latencies: number[]) => {
  const buckets = new Float64Array(BUCKET_SLOTS);
  for (const s of latencies) buckets[bucketIndex(s)]!++;
  return { requests, errors5xx, buckets };
};

describe('latency buckets', () => {
  it('span 1 ms to 30 s, and anything slower lands in +Inf', () => {
    expect(LATENCY_BUCKETS[0]).toBe(0.001);
    expect(LATENCY_BUCKETS.at(-1)).toBe(30);
    expect(bucketIndex(0.0001)).toBe(0);
    expect(bucketIndex(0.001)).toBe(0);
    expect(bucketIndex(0.0011)).toBe(1);
    expect(bucketIndex(99)).toBe(LATENCY_BUCKETS.length);
  });

  it('quantiles interpolate inside a bucket, like histogram_quantile', () => {
    const b = new Float64Array(BUCKET_SLOTS);
    expect(quantileMs(b, 0.99)).toBeNull();
    b[bucketIndex(0.003)] = 100; // all in (2 ms, 5 ms]
    expect(quantileMs(b, 0.5)).toBeCloseTo(3.5);
    expect(quantileMs(b, 0.99)).toBeCloseTo(4.97);
    b[LATENCY_BUCKETS.length] = 1000;
    expect(quantileMs(b, 0.99)).toBe(30_000);
  });
});

describe('RequestWindows', () => {
  it('counts requests made before the first sample (counts start at zero)', () => {
    const w = new RequestWindows();
    w.sample(new Map([['a', { counts: counts(4, 2, [0.003, 0.003, 0.003, 0.003]), p99Ms: null }]]));
    expect(w.window('a', 10)).toMatchObject({ requests: 4, errors5xx: 2, errorRate: 0.5, seconds: 1 });
    w.sample(new Map([['a', { counts: counts(4, 2, [0.003, 0.003, 0.003, 0.003]), p99Ms: null }]]));
    expect(w.window('a', 1)).toMatchObject({ requests: 0, rps: 0, p99Ms: null });
    expect(w.window('a', 2)).toMatchObject({ requests: 4, rps: 2 });
  });

  it("without buckets (metrics off) reports the CGI's own p99", () => {
    const w = new RequestWindows();
    w.sample(new Map([['a', { counts: { requests: 3, errors5xx: 0 }, p99Ms: 12 }]]));
    expect(w.window('a', 5)).toMatchObject({ requests: 3, p99Ms: 12, p50Ms: null });
  });

  it('a CGI that goes away and comes back starts afresh', () => {
    const w = new RequestWindows();
    w.sample(new Map([['a', { counts: counts(10, 0, []), p99Ms: null }]]));
    w.sample(new Map());
    expect(w.names()).toEqual([]);
    w.sample(new Map([['a', { counts: counts(2, 0, []), p99Ms: null }]]));
    expect(w.window('a', 60).requests).toBe(2);
  });
});

describe('SeriesSet', () => {
  it('pads late series with nulls, keeps maxPoints, drops series that are all null', () => {
    const s = new SeriesSet(3);
    s.push(1, new Map([['a', 1]]));
    s.push(
      2,
      new Map([
        ['a', 2],
        ['b', 20],
      ]),
    );
    expect(s.recent()).toEqual({ times: [1, 2], series: { a: [1, 2], b: [null, 20] } });
    s.push(3, new Map([['b', 30]]));
    s.push(4, new Map([['b', 40]]));
    s.push(5, new Map([['b', 50]]));
    expect(s.recent()).toEqual({ times: [3, 4, 5], series: { b: [30, 40, 50] } });
    expect(s.recent(2).times).toEqual([4, 5]);
  });
});

describe('RecentErrors', () => {
  it("joins a request's error log line and its 5xx answer into one entry, newest first", () => {
    const e = new RecentErrors(3);
    e.logged('error', 'CGI threw', { cgi: 'a', version: 'v1', requestId: 'r1', error: 'Error: boom\n    at x' });
    e.request('a', 'v1', 'INTERNAL', 500, 'r1');
    e.request('b', '', 'CGI_CRASHED', 502, 'r2');
    e.logged('error', 'alert: x', { alert: 'x' });
    expect(e.list()).toEqual([
      expect.objectContaining({ cgi: 'b', version: undefined, code: 'CGI_CRASHED', status: 502, requestId: 'r2' }),
      expect.objectContaining({
        cgi: 'a',
        version: 'v1',
        code: 'INTERNAL',
        status: 500,
        requestId: 'r1',
        message: 'CGI threw: Error: boom',
      }),
    ]);
    for (let i = 0; i < 5; i++) e.logged('error', `m${i}`, undefined);
    expect(e.list().map((x) => x.message)).toEqual(['m4', 'm3', 'm2']);
  });
});
