/**
 * Business metrics (SPEC §8 ctx.metrics) and ctx.fetch counts, as the workers
 * report them once per event-loop turn. Per group and metric name: one kind
 * (the first one used; updates of another kind are dropped), at most 100
 * label sets (updates of further ones are dropped and counted), and for
 * alert rules and the dashboard, each metric's total sampled every second
 * over the last minute.
 */
import { HISTOGRAM_BUCKETS, MAX_SERIES_PER_METRIC } from '../sdk/metrics.js';
import type { BizUpdate, FetchCount } from '../worker/protocol.js';
import type { TallyMessage } from '../worker/cgi-worker.js';

export interface BizSeries {
  labels: Array<[string, string]>;
  /** counter: the total; gauge: the value; histogram: the sum of observations. */
  value: number;
  /** histogram: observations per bucket (HISTOGRAM_BUCKETS, then +Inf). */
  counts?: number[];
}

export interface BizMetric {
  group: string;
  name: string;
  kind: BizUpdate['kind'];
  series: Map<string, BizSeries>;
  /** Updates of new label sets dropped past the cap, or of another kind. */
  dropped: number;
  /** Per second, the metric's total (counter: sum of series; histogram: observations), newest last. */
  ring: number[];
}

/** Hosts per group in cgihost_fetch_requests_total; the rest count as "other". */
const MAX_FETCH_HOSTS = 100;
const RING_SECONDS = 61;

export class BizMetrics {
  /** `${group}\0${name}` -> metric. */
  readonly metrics = new Map<string, BizMetric>();
  /** group -> `${host}\0${status}` -> calls. */
  readonly fetches = new Map<string, Map<string, number>>();
  private readonly fetchHosts = new Map<string, Set<string>>();
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (msg: string, fields: Record<string, unknown>) => void = () => {}) {}

  apply(group: string, m: TallyMessage): void {
    for (const u of m.metrics ?? []) this.update(group, u);
    for (const f of m.fetches ?? []) this.fetched(group, f);
  }

  get(group: string, name: string): BizMetric | undefined {
    return this.metrics.get(`${group}\u0000${name}`);
  }

  /** Once a second: each metric's total, for rates over the last minute. */
  sample(): void {
    for (const m of this.metrics.values()) {
      m.ring.push(total(m));
      if (m.ring.length > RING_SECONDS) m.ring.shift();
    }
  }

  /**
   * What a `biz` alert rule compares: a counter's (or histogram's
   * observations') rate per second over the last minute, a gauge's largest
   * value over its label sets. Null until there is something to judge.
   */
  judged(m: BizMetric): number | null {
    if (m.kind === 'gauge') {
      let max: number | null = null;
      for (const s of m.series.values()) if (max === null || s.value > max) max = s.value;
      return max;
    }
    return this.rate(m);
  }

  /** Per second over the last minute (or since the metric appeared, from 0); null before the first sample. */
  rate(m: BizMetric): number | null {
    if (m.ring.length < 2) return null;
    return (m.ring[m.ring.length - 1]! - m.ring[0]!) / (m.ring.length - 1);
  }

  private update(group: string, u: BizUpdate): void {
    const id = `${group}\u0000${u.name}`;
    let m = this.metrics.get(id);
    // A new metric starts from 0: the ring's first point is that 0, so a rate counts what came before the first
    // sample too (else a counter that jumped within its first second would show a rate of 0 for a minute).
    if (!m) this.metrics.set(id, (m = { group, name: u.name, kind: u.kind, series: new Map(), dropped: 0, ring: [0] }));
    if (m.kind !== u.kind) {
      m.dropped++;
      this.warnOnce(
        `${id}\u0000${u.kind}`,
        `ctx.metrics: ${u.name} is a ${m.kind} in group ${group}; ${u.kind} updates of it are dropped`,
        group,
        u.name,
      );
      return;
    }
    const key = JSON.stringify(u.labels);
    let s = m.series.get(key);
    if (!s) {
      if (m.series.size >= MAX_SERIES_PER_METRIC) {
        m.dropped++;
        this.warnOnce(
          `${id}\u0000cap`,
          `ctx.metrics: ${u.name} has ${MAX_SERIES_PER_METRIC} label sets; updates of new ones are dropped`,
          group,
          u.name,
        );
        return;
      }
      s = { labels: u.labels, value: 0 };
      if (u.kind === 'histogram') s.counts = new Array<number>(HISTOGRAM_BUCKETS.length + 1).fill(0);
      m.series.set(key, s);
    }
    if (u.kind === 'gauge') s.value = u.value;
    else s.value += u.value;
    if (u.counts && s.counts) for (let i = 0; i < s.counts.length; i++) s.counts[i]! += u.counts[i] ?? 0;
  }

  private fetched(group: string, [host, status, n]: FetchCount): void {
    let hosts = this.fetchHosts.get(group);
    if (!hosts) this.fetchHosts.set(group, (hosts = new Set()));
    let h = host;
    if (!hosts.has(h)) {
      if (hosts.size >= MAX_FETCH_HOSTS) h = 'other';
      else hosts.add(h);
    }
    let counts = this.fetches.get(group);
    if (!counts) this.fetches.set(group, (counts = new Map()));
    const k = `${h}\u0000${status}`;
    counts.set(k, (counts.get(k) ?? 0) + n);
  }

  private warnOnce(key: string, msg: string, group: string, metric: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(msg, { group, metric });
  }
}

/** A counter's total, a histogram's observations, a gauge's sum (only counters and histograms use it for rates). */
function total(m: BizMetric): number {
  let t = 0;
  for (const s of m.series.values()) t += s.counts ? s.counts.reduce((a, b) => a + b, 0) : s.value;
  return t;
}

/** The name on /metrics: cgihost_biz_<group>_<name>, the group's other characters made `_`. */
export function promName(group: string, name: string): string {
  return `cgihost_biz_${group.replace(/[^a-zA-Z0-9_]/g, '_')}_${name}`;
}

/** A metric in the JSON form prom-client's getMetricsAsJSON gives (AggregatorRegistry.aggregate formats it). */
export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

/** Every business metric, the dropped-series count and the ctx.fetch calls, as /metrics shows them. */
export function bizJson(biz: BizMetrics): MetricJson[] {
  const out: MetricJson[] = [];
  const dropped: MetricJson = {
    name: 'cgihost_biz_dropped_series_total',
    help: 'ctx.metrics updates dropped: a label set past the 100 a metric may have, or another kind than the metric has.',
    type: 'counter',
    aggregator: 'sum',
    values: [],
  };
  for (const m of biz.metrics.values()) {
    const name = promName(m.group, m.name);
    const help = `ctx.metrics ${m.kind} "${m.name}" of CGI group ${m.group}.`;
    const values: MetricJson['values'] = [];
    for (const s of m.series.values()) {
      const labels = Object.fromEntries(s.labels);
      if (m.kind !== 'histogram') {
        values.push({ labels, value: s.value });
        continue;
      }
      let cumulative = 0;
      HISTOGRAM_BUCKETS.forEach((le, i) => {
        cumulative += s.counts![i]!;
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
      });
      cumulative += s.counts![HISTOGRAM_BUCKETS.length]!;
      values.push(
        { labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${name}_bucket` },
        { labels, value: s.value, metricName: `${name}_sum` },
        { labels, value: cumulative, metricName: `${name}_count` },
      );
    }
    out.push({ name, help, type: m.kind, aggregator: 'sum', values });
    dropped.values.push({ labels: { group: m.group, metric: m.name }, value: m.dropped });
  }
  out.push(dropped);
  const fetches: MetricJson = {
    name: 'cgihost_fetch_requests_total',
    help: 'ctx.fetch calls by CGI group, host and status (an HTTP status, or refused, timeout, error).',
    type: 'counter',
    aggregator: 'sum',
    values: [],
  };
  for (const [group, counts] of biz.fetches) {
    for (const [k, n] of counts) {
      const [host, status] = k.split('\u0000') as [string, string];
      fetches.values.push({ labels: { group, host, status }, value: n });
    }
  }
  out.push(fetches);
  return out;
}
