/**
 * Latency buckets shared by the Prometheus histogram and the dashboard's own
 * windows, and the quantile estimate Prometheus' histogram_quantile makes.
 */

/** Upper bounds in seconds: 1 ms to 30 s in 1-2-5 steps (a held long-poll lands near its timeout). */
export const LATENCY_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30] as const;
/** Counts per bucket plus one for +Inf. */
export const BUCKET_SLOTS = LATENCY_BUCKETS.length + 1;

export function bucketIndex(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
  return i;
}

/**
 * The q-quantile (0..1) in ms of non-cumulative bucket counts, interpolated
 * linearly inside its bucket; null when there were no requests.
 */
export function quantileMs(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      // Beyond the last bound there is nothing to interpolate to: say the last bound.
      if (i >= LATENCY_BUCKETS.length) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]! * 1000;
      const lo = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
      const hi = LATENCY_BUCKETS[i]!;
      return (lo + (hi - lo) * ((rank - seen) / c)) * 1000;
    }
    seen += c;
  }
  return null;
}
