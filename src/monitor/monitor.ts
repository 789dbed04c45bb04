/**
 * The monitor of one host: once a second, off the hot path (each slot counts
 * its own requests), the live windows, the dashboard's series and the alert
 * rules. Everything the admin API and /metrics show is read from here.
 */
import type { AlertRule, Config } from '../config/schema.js';
import type { Registry } from '../host/registry.js';
import type { Logger } from '../log.js';
import type { StoreHost } from '../store/host.js';
import type { ExitReason } from '../worker/cgi-worker.js';
import { Alerts } from './alerts.js';
import { LoopSampler } from './loop-sampler.js';
import type { HostMetrics } from './metrics.js';
import type { RequestObserver } from './observer.js';
import { RecentErrors } from './recent-errors.js';
import type { CgiCounts } from '../host/slot-counters.js';
import { BizMetrics } from './biz-metrics.js';
import { StoreStatsCache } from './store-stats.js';
import { RequestWindows, SeriesSet } from './timeline.js';

/** Seconds of requests an error_rate or p99_ms rule judges. */
export const ALERT_WINDOW_SECONDS = 30;
/** The live rates of the admin API and dashboard. */
export const LIVE_WINDOW_SECONDS = 10;
/** One dashboard point every STEP seconds, for the last POINTS of them (10 minutes). */
export const SERIES_STEP_SECONDS = 5;
export const SERIES_POINTS = 120;

/** What the monitor watches; it only reads them (and raises alerts through the store's queue). */
export interface MonitorParts {
  config: Config;
  log: Logger;
  store: StoreHost;
  registry: Registry;
}

export class Monitor {
  readonly startedAt = Date.now();
  readonly errors = new RecentErrors();
  readonly windows = new RequestWindows();
  readonly series = new SeriesSet(SERIES_POINTS);
  readonly loops = new LoopSampler();
  readonly storeStats: StoreStatsCache;
  readonly alerts: Alerts;
  /** ctx.metrics and ctx.fetch counts of every group. */
  readonly biz: BizMetrics;
  /** Workers ended other than by retirement: cgi -> reason -> count. */
  readonly restarts = new Map<string, Map<string, number>>();
  private prom?: Promise<HostMetrics>;
  /** Request counts live in each slot (SlotCounters); the front reports finished requests here only for the error list. */
  readonly observer: RequestObserver;
  private readonly timer: NodeJS.Timeout;
  private readonly unlisten?: () => void;
  private readonly storeEvery: number;
  private ticks = 0;
  /** The store's business counters at the last series point, for their rates. */
  private lastBiz?: { at: number; sent: number; entries: number };

  constructor(readonly parts: MonitorParts) {
    const { config, log, store, registry } = parts;
    this.storeStats = new StoreStatsCache(store);
    this.biz = new BizMetrics((msg, fields) => log.warn(msg, fields));
    this.alerts = new Alerts(config.alerts, { log, emit: (event, payload) => store.emit(event, payload) });
    this.observer = {
      finished: (cgi, version, code, status, _seconds, requestId) => {
        if (status >= 500) this.errors.request(cgi, version, code, status, requestId);
      },
    };
    this.unlisten = log.listen?.('error', (level, msg, fields) => this.errors.logged(level, msg, fields));
    // Queue lag is judged from the store's counters: read them more often when a rule needs it.
    this.storeEvery = config.alerts.some((r) => r.metric === 'queue_lag_seconds') ? 2 : SERIES_STEP_SECONDS;
    this.timer = setInterval(() => this.tick(), 1_000);
    this.timer.unref();
  }

  workerExited(cgi: string, reason: ExitReason): void {
    let byReason = this.restarts.get(cgi);
    if (!byReason) this.restarts.set(cgi, (byReason = new Map()));
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }

  /**
   * The Prometheus registry, made at the first scrape: prom-client is loaded
   * then, not at start-up (it costs the host about 70 ms and some MB), and
   * every series is read from the counters above when scraped.
   */
  metrics(): Promise<HostMetrics> {
    this.prom ??= import('./metrics.js').then(
      ({ HostMetrics }) =>
        new HostMetrics({
          registry: this.parts.registry,
          requestSeries: this.parts.config.metrics.enabled,
          storeStats: this.storeStats,
          loops: this.loops,
          alerts: this.alerts,
          restarts: this.restarts,
          biz: this.biz,
        }),
    );
    return this.prom;
  }

  stop(): void {
    clearInterval(this.timer);
    this.unlisten?.();
  }

  /**
   * Once a second. Each part runs on its own: one that throws (a sampler
   * meeting a worker mid-exit, say) is logged, once per distinct error, and
   * never keeps the others, alert evaluation above all, from running.
   */
  private tick(): void {
    this.ticks++;
    this.step('windows', () => {
      const counts = new Map<string, { counts: CgiCounts; p99Ms: number | null }>();
      for (const slot of this.parts.registry.slots.values()) counts.set(slot.name, { counts: slot.counters, p99Ms: null });
      this.windows.sample(counts);
    });
    this.step('biz', () => this.biz.sample());
    if (this.ticks % this.storeEvery === 0) this.step('store', () => void this.storeStats.get());
    if (this.ticks % SERIES_STEP_SECONDS === 0) this.step('series', () => this.samplePoint());
    this.step('alerts', () => this.alerts.evaluate((rule) => this.measure(rule)));
  }

  private readonly tickErrors = new Set<string>();
  private step(part: string, run: () => void): void {
    try {
      run();
    } catch (e) {
      const error = (e as Error).stack ?? String(e);
      const key = `${part}\u0000${error}`;
      if (this.tickErrors.has(key)) return;
      if (this.tickErrors.size < 100) this.tickErrors.add(key);
      this.parts.log.warn('monitor tick failed', { part, error });
    }
  }

  private samplePoint(): void {
    this.loops.sample(this.parts.registry);
    const values = new Map<string, number | null>();
    let total = 0;
    for (const name of this.windows.names()) {
      const w = this.windows.window(name, SERIES_STEP_SECONDS);
      total += w.rps;
      values.set(`cgi/${name}/rps`, w.rps);
      values.set(`cgi/${name}/errorRate`, w.errorRate);
      values.set(`cgi/${name}/p99Ms`, w.p99Ms);
    }
    const store = this.storeStats.latest;
    if (store.at > 0) {
      const s = store.stats;
      for (const topic of new Set([...Object.keys(s.queueDepth), ...Object.keys(s.queueLagSeconds)])) {
        values.set(`queue/${topic}/depth`, s.queueDepth[topic] ?? 0);
        values.set(`queue/${topic}/lagSeconds`, s.queueLagSeconds[topic] ?? 0);
      }
      values.set('host/-/syncWaiters', s.syncWaiters);
      const sent = Object.values(s.messagesSent).reduce((a, b) => a + b, 0);
      const last = this.lastBiz;
      if (last && store.at > last.at) {
        const seconds = (store.at - last.at) / 1000;
        values.set('host/-/messagesPerSec', Math.max(0, sent - last.sent) / seconds);
        values.set('host/-/inboxEntriesPerSec', Math.max(0, s.inboxEntriesWritten - last.entries) / seconds);
      }
      if (!last || store.at > last.at) this.lastBiz = { at: store.at, sent, entries: s.inboxEntriesWritten };
    }
    for (const b of this.biz.metrics.values()) values.set(`biz/${b.group}.${b.name}/value`, this.biz.judged(b));
    const mem = process.memoryUsage();
    values.set('host/-/rps', total);
    values.set('host/-/rssMb', mem.rss / 2 ** 20);
    values.set('host/-/heapMb', mem.heapUsed / 2 ** 20);
    values.set('host/-/elu', this.loops.main());
    this.series.push(Date.now(), values);
  }

  /** Each target's current value for a rule (null: nothing to judge). */
  private measure(rule: AlertRule): Map<string, number | null> {
    const out = new Map<string, number | null>();
    const registry = this.parts.registry;
    switch (rule.metric) {
      case 'error_rate':
      case 'p99_ms':
        for (const name of rule.target === '*' ? this.windows.names() : [rule.target]) {
          const w = this.windows.window(name, ALERT_WINDOW_SECONDS);
          out.set(name, w.requests === 0 ? null : rule.metric === 'error_rate' ? w.errorRate : w.p99Ms);
        }
        break;
      case 'quarantined':
        for (const slot of rule.target === '*' ? [...registry.slots.values()] : [registry.get(rule.target)]) {
          if (slot) out.set(slot.name, slot.state === 'quarantined' ? 1 : 0);
        }
        break;
      case 'queue_lag_seconds': {
        const snap = this.storeStats.latest;
        if (snap.at === 0) break;
        const lag = snap.stats.queueLagSeconds;
        for (const topic of rule.target === '*' ? Object.keys(lag) : [rule.target]) out.set(topic, lag[topic] ?? 0);
        break;
      }
      case 'biz':
        // "<group>.<name>": the group is everything before the last dot (metric names have none).
        for (const m of this.biz.metrics.values()) {
          const target = `${m.group}.${m.name}`;
          if (rule.target === '*' || rule.target === target) out.set(target, this.biz.judged(m));
        }
        break;
    }
    return out;
  }
}
