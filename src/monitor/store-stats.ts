/**
 * The store thread's counters (queue depths and lag, sync waiters, messages
 * sent, ...), fetched at most once a second, whoever asks (a /metrics scrape,
 * the dashboard, the alert on queue lag), and never waited on for long.
 */
import type { StoreStats } from '../store/protocol.js';

export interface StatsSource {
  stats(): Promise<StoreStats>;
}

export interface StoreStatsSnapshot {
  stats: StoreStats;
  /** When these were read; 0 before the first answer. */
  at: number;
  ok: boolean;
  error?: string;
}

const EMPTY: StoreStats = {
  queueDepth: {},
  queueLagSeconds: {},
  queueRetries: {},
  queueDeadLetters: {},
  queueTopics: {},
  syncWaiters: 0,
  messagesSent: {},
  inboxEntriesWritten: 0,
  commits: 0,
  writesFailingSince: 0,
};

export class StoreStatsCache {
  private snapshot: StoreStatsSnapshot = { stats: EMPTY, at: 0, ok: false };
  private pending?: Promise<StoreStatsSnapshot>;

  constructor(
    private readonly source: StatsSource,
    private readonly maxAgeMs = 1_000,
    private readonly timeoutMs = 2_000,
  ) {}

  /** The last answer, whatever its age. */
  get latest(): StoreStatsSnapshot {
    return this.snapshot;
  }

  /** An answer at most maxAgeMs old; on failure or timeout, the last one (marked not ok). */
  get(): Promise<StoreStatsSnapshot> {
    if (this.snapshot.ok && Date.now() - this.snapshot.at < this.maxAgeMs) return Promise.resolve(this.snapshot);
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetch(): Promise<StoreStatsSnapshot> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const stats = await Promise.race([
        Promise.resolve().then(() => this.source.stats()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the store did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      this.snapshot = { stats: normalise(stats), at: Date.now(), ok: true };
    } catch (e) {
      this.snapshot = { ...this.snapshot, ok: false, error: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
    return this.snapshot;
  }
}

/** Whatever the store leaves out reads as empty, so one missing counter cannot break /metrics. */
function normalise(s: Partial<StoreStats> | undefined): StoreStats {
  const rec = (v: unknown): Record<string, number> => {
    const out: Record<string, number> = {};
    if (v && typeof v === 'object') for (const [k, n] of Object.entries(v)) if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
    return out;
  };
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    queueDepth: rec(s?.queueDepth),
    queueLagSeconds: rec(s?.queueLagSeconds),
    queueRetries: rec(s?.queueRetries),
    queueDeadLetters: rec(s?.queueDeadLetters),
    queueTopics: s?.queueTopics && typeof s.queueTopics === 'object' ? s.queueTopics : {},
    syncWaiters: num(s?.syncWaiters),
    messagesSent: rec(s?.messagesSent),
    inboxEntriesWritten: num(s?.inboxEntriesWritten),
    commits: num(s?.commits),
    writesFailingSince: num(s?.writesFailingSince),
  };
}
