/**
 * The Prometheus registry of one host (prom-client writes the exposition
 * format). Every series is read when /metrics is scraped: the request series
 * from each slot's plain counters (so the hot path never hashes a
 * label), the rest from the registry of CGIs, the workers' shared heartbeat,
 * and the store thread's counters.
 */
import client, { type Counter, type Gauge } from 'prom-client';
import type { SlotState } from '../host/slot.js';
import type { Registry } from '../host/registry.js';
import type { Alerts } from './alerts.js';
import { LATENCY_BUCKETS } from '../host/latency.js';
import type { LoopSampler } from './loop-sampler.js';
import type { SlotCounters } from '../host/slot-counters.js';
import type { StoreStatsCache } from './store-stats.js';
import { bizJson, type BizMetrics } from './biz-metrics.js';

export interface MetricsDeps {
  registry: Registry;
  /** Whether to show the request series (metrics.enabled); they are read from each slot's counters. */
  requestSeries: boolean;
  storeStats: StoreStatsCache;
  loops: LoopSampler;
  alerts: Alerts;
  /** Workers ended other than by retirement, by CGI and reason (counted by the Monitor since start). */
  restarts: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** ctx.metrics and ctx.fetch counts. */
  biz: BizMetrics;
}

const STATES: SlotState[] = ['loading', 'ready', 'failed', 'quarantined'];

export class HostMetrics {
  readonly prom = new client.Registry();

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.prom];
    client.collectDefaultMetrics({ register: this.prom });
    if (deps.requestSeries) {
      const registry = deps.registry;
      const requests: Counter<'cgi' | 'version' | 'code'> = new client.Counter({
        name: 'cgihost_requests_total',
        help: 'CGI requests answered, by CGI, version (none: turned away before one was chosen) and code (an error code, or OK).',
        labelNames: ['cgi', 'version', 'code'] as const,
        registers,
        collect: () => {
          // A counter has no set(): after reset, one inc by each running total.
          requests.reset();
          for (const slot of registry.slots.values()) {
            for (const [version, v] of slot.counters.byVersion) {
              for (const [code, c] of v.byCode) requests.inc({ cgi: slot.name, version, code }, c.n);
            }
          }
        },
      });
    }
    const restarts: Counter<'cgi' | 'reason'> = new client.Counter({
      name: 'cgihost_worker_restarts_total',
      help: 'CGI workers that ended other than by retirement (and were replaced or quarantined), by reason.',
      labelNames: ['cgi', 'reason'] as const,
      registers,
      collect: () => {
        restarts.reset();
        for (const [cgi, byReason] of deps.restarts) for (const [reason, n] of byReason) restarts.inc({ cgi, reason }, n);
      },
    });
    this.cgiGauges();
    this.storeSeries();
  }

  get contentType(): string {
    return this.prom.contentType;
  }

  /** The exposition text: the registry's series, then the request histogram (from the slots' counters), the business metrics and ctx.fetch counts. */
  async metrics(): Promise<string> {
    const text = await this.prom.metrics();
    // prom-client has no histogram whose bucket counts can be set, and the business metrics' names and labels are the CGIs' own:
    // it formats any series given as getMetricsAsJSON() objects through AggregatorRegistry.aggregate (one source: each value is its own sum).
    const histograms = this.deps.requestSeries
      ? [
          slotHistogram(this.deps.registry, {
            name: 'cgihost_request_duration_seconds',
            help: 'Service time of CGI requests: receipt to answer, less any time held in a long-poll waiting for an entry.',
            of: (t) => ({ buckets: t.buckets, sum: t.sum, count: t.requests }),
          }),
          slotHistogram(this.deps.registry, {
            name: 'cgihost_long_poll_held_seconds',
            help: 'Time CGI requests were held in a long-poll (sync with timeoutMs) before an entry woke them or the time ran out.',
            of: (t) => ({ buckets: t.heldBuckets, sum: t.heldSum, count: t.held }),
          }),
        ]
      : [];
    const more = client.AggregatorRegistry.aggregate([[...histograms, ...bizJson(this.deps.biz)]]);
    return `${text}\n${await more.metrics()}`;
  }

  private cgiGauges(): void {
    const { registry, loops, alerts } = this.deps;
    const registers = [this.prom];
    const perCgi = (name: string, help: string, value: (slot: NonNullable<ReturnType<Registry['get']>>) => number | null) => {
      const g: Gauge<'cgi'> = new client.Gauge({
        name,
        help,
        labelNames: ['cgi'] as const,
        registers,
        collect: () => {
          g.reset();
          for (const slot of registry.slots.values()) {
            const v = value(slot);
            if (v !== null) g.set({ cgi: slot.name }, v);
          }
        },
      });
    };
    perCgi('cgihost_cgi_inflight_requests', 'CGI requests being served now.', (s) => s.counters.inflight);
    perCgi('cgihost_cgi_workers', 'Live worker threads of the CGI (all its versions).', (s) => s.workers().filter((w) => w.alive).length);
    perCgi('cgihost_worker_heap_bytes', "JS heap used by the CGI's workers, summed.", (s) =>
      s.workers().reduce((n, w) => n + (w.alive ? w.heapUsed : 0), 0),
    );
    perCgi('cgihost_worker_external_bytes', "Memory outside the JS heap (Buffers) of the CGI's workers, summed.", (s) =>
      s.workers().reduce((n, w) => n + (w.alive ? w.externalBytes : 0), 0),
    );
    perCgi(
      'cgihost_worker_event_loop_utilization',
      "Event-loop utilisation (0..1) of the CGI's workers, averaged, over the last few seconds.",
      (s) => loops.worker(s.name),
    );
    perCgi('cgihost_cgi_quarantined', '1 while the CGI is quarantined after repeated crashes, else 0.', (s) =>
      s.state === 'quarantined' ? 1 : 0,
    );
    perCgi('cgihost_canary_percent', "Share of users (0..100) routed to the CGI's canary version.", (s) =>
      s.canary ? s.canaryPercent : 0,
    );
    const state: Gauge<'cgi' | 'state'> = new client.Gauge({
      name: 'cgihost_cgi_state',
      help: '1 for the state the CGI is in (loading, ready, failed, quarantined), 0 for the others.',
      labelNames: ['cgi', 'state'] as const,
      registers,
      collect: () => {
        state.reset();
        for (const slot of registry.slots.values())
          for (const s of STATES) state.set({ cgi: slot.name, state: s }, slot.state === s ? 1 : 0);
      },
    });
    const elu: Gauge = new client.Gauge({
      name: 'cgihost_event_loop_utilization',
      help: "Event-loop utilisation (0..1) of the host's main thread over the last few seconds.",
      registers,
      collect: () => elu.set(loops.main()),
    });
    const firing: Gauge<'alert'> = new client.Gauge({
      name: 'cgihost_alerts_firing',
      help: 'Targets for which an alert rule is firing now, by rule.',
      labelNames: ['alert'] as const,
      registers,
      collect: () => {
        firing.reset();
        for (const r of alerts.rules) firing.set({ alert: r.name }, 0);
        for (const a of alerts.active()) firing.inc({ alert: a.alert });
      },
    });
  }

  /** Series from the store thread's counters: one stats call per scrape, whatever the number of series. */
  private storeSeries(): void {
    const registers = [this.prom];
    const stats = async () => (await this.deps.storeStats.get()).stats;
    const byTopic = (
      name: string,
      help: string,
      pick: (s: Awaited<ReturnType<typeof stats>>) => Record<string, number>,
      kind: 'gauge' | 'counter',
    ) => {
      const m: Gauge<'topic'> | Counter<'topic'> =
        kind === 'gauge'
          ? new client.Gauge({ name, help, labelNames: ['topic'] as const, registers, collect: async () => fill(await stats()) })
          : new client.Counter({ name, help, labelNames: ['topic'] as const, registers, collect: async () => fill(await stats()) });
      const fill = (s: Awaited<ReturnType<typeof stats>>) => {
        m.reset();
        // A counter has no set(): after reset, one inc by the store's running total.
        for (const [topic, v] of Object.entries(pick(s))) m.inc({ topic }, v);
      };
    };
    byTopic('cgihost_queue_depth', 'Queue jobs not yet done, by topic.', (s) => s.queueDepth, 'gauge');
    byTopic(
      'cgihost_queue_lag_seconds',
      'Age of the oldest queue job not yet done, by topic (0 when none).',
      (s) => s.queueLagSeconds,
      'gauge',
    );
    byTopic('cgihost_queue_retries_total', 'Queue job attempts that failed and were retried, by topic.', (s) => s.queueRetries, 'counter');
    byTopic('cgihost_queue_dead_letters', 'Queue jobs given up after their last attempt, by topic.', (s) => s.queueDeadLetters, 'gauge');
    const sent: Counter<'kind'> = new client.Counter({
      name: 'cgihost_messages_sent_total',
      help: 'Messages sent, by kind (text, voice, image, video, system).',
      labelNames: ['kind'] as const,
      registers,
      collect: async () => {
        const s = await stats();
        sent.reset();
        for (const [kind, v] of Object.entries(s.messagesSent)) sent.inc({ kind }, v);
      },
    });
    const single = (name: string, help: string, pick: (s: Awaited<ReturnType<typeof stats>>) => number, kind: 'gauge' | 'counter') => {
      if (kind === 'gauge') {
        const g: Gauge = new client.Gauge({ name, help, registers, collect: async () => g.set(pick(await stats())) });
      } else {
        const c: Counter = new client.Counter({
          name,
          help,
          registers,
          collect: async () => {
            const v = pick(await stats());
            c.reset();
            c.inc(v);
          },
        });
      }
    };
    single('cgihost_sync_waiters', 'Sync long-polls being held, waiting for an inbox entry.', (s) => s.syncWaiters, 'gauge');
    single(
      'cgihost_inbox_entries_written_total',
      'Inbox entries written (one per recipient of each message, sender included).',
      (s) => s.inboxEntriesWritten,
      'counter',
    );
    single('cgihost_store_commits_total', "Transactions committed by the store's writer.", (s) => s.commits, 'counter');
    single(
      'cgihost_store_writes_failing',
      '1 while the store cannot write to its disk (full, read-only: writes answer 503 STORE_UNAVAILABLE), else 0.',
      (s) => (s.writesFailingSince > 0 ? 1 : 0),
      'gauge',
    );
    const up: Gauge = new client.Gauge({
      name: 'cgihost_store_stats_up',
      help: '1 when the store thread answered the last stats request in time, else 0.',
      registers,
      collect: async () => up.set((await this.deps.storeStats.get()).ok ? 1 : 0),
    });
  }
}

/** The JSON form (as getMetricsAsJSON gives it) of one histogram series, read from plain counts. */
interface HistogramJson {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }>;
}

interface SlotSeries {
  name: string;
  help: string;
  of(t: SlotCounters): { buckets: ArrayLike<number>; sum: number; count: number };
}

/**
 * A histogram per CGI built from the slots' bucket counts when scraped
 * (request service time, time held in long-polls): prom-client formats it as
 * any histogram, and the hot path never calls observe().
 */
function slotHistogram(registry: Registry, series: SlotSeries): HistogramJson {
  const { name, help } = series;
  const values: HistogramJson['values'] = [];
  for (const slot of registry.slots.values()) {
    const cgi = slot.name;
    const t = series.of(slot.counters);
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += t.buckets[i]!;
      values.push({ labels: { le, cgi }, value: cumulative, metricName: `${name}_bucket` });
    });
    values.push(
      { labels: { le: '+Inf', cgi }, value: t.count, metricName: `${name}_bucket` },
      { labels: { cgi }, value: t.sum, metricName: `${name}_sum` },
      { labels: { cgi }, value: t.count, metricName: `${name}_count` },
    );
  }
  return { name, help, type: 'histogram', aggregator: 'sum', values };
}
