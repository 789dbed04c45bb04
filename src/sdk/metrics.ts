/**
 * `ctx.metrics`: business monitoring (SPEC §8). A metric `name` of group `g`
 * appears on /metrics as `cgihost_biz_g_name` with the given labels (at most
 * 100 label sets per metric; more are dropped and counted in
 * `cgihost_biz_dropped_series_total`), on the dashboard, and in `biz` alert
 * rules.
 *
 * @example
 * ctx.metrics.counter('posts', { kind: images.length ? 'images' : 'text' }).inc();
 * ctx.metrics.gauge('queue_backlog').set(backlog);
 * ctx.metrics.histogram('fanout_contacts').observe(contacts.length);
 */
export type MetricLabels = Record<string, string | number>;

export interface Counter {
  /** Adds `n` (default 1, never negative). */
  inc(n?: number): void;
}

export interface Gauge {
  set(value: number): void;
}

export interface Histogram {
  observe(value: number): void;
}

export interface Metrics {
  counter(name: string, labels?: MetricLabels): Counter;
  gauge(name: string, labels?: MetricLabels): Gauge;
  histogram(name: string, labels?: MetricLabels): Histogram;
}

/** Metric names: `[a-z][a-z0-9_]*`; label names: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export const METRIC_NAME = /^[a-z][a-z0-9_]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A metric keeps at most this many label sets. */
export const MAX_SERIES_PER_METRIC = 100;
/** Histogram buckets (upper bounds), Prometheus' defaults; every histogram uses them. */
export const HISTOGRAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000] as const;
