/**
 * A slot's state, and the crash window that moves it (SPEC §5 Faults). Every
 * change of state goes through here: loaded, refused, crashed too often
 * (quarantined), re-probed with backoff, and on probation after a probe (one
 * more crash soon after sends the slot straight back).
 */
import type { Config } from '../config/schema.js';
import type { WorkerPool } from './worker-pool.js';

export type SlotState = 'loading' | 'ready' | 'failed' | 'quarantined';

/** What to do after a worker of a pool crashed. */
export type CrashVerdict = { do: 'replace'; delayMs: number } | { do: 'quarantine' } | { do: 'roll-back-canary' };

export interface HealthHooks {
  /** The slot went into quarantine because of this pool: stop its workers, alert. */
  quarantined(pool: WorkerPool, probeInMs: number): void;
  /** Start the pool's workers again; false when the pool is no longer the slot's stable one. */
  probe(pool: WorkerPool): Promise<boolean>;
  /** The probe worked: the slot serves again. */
  recovered(pool: WorkerPool): void;
}

export class SlotHealth {
  private current: SlotState = 'loading';
  private probeDelayMs: number;
  private probeTimer?: NodeJS.Timeout;
  private probationUntil = 0;
  private stopped = false;
  /** Crash times within the window, per pool. */
  private readonly crashes = new WeakMap<WorkerPool, number[]>();

  constructor(
    private readonly faults: Config['faults'],
    private readonly hooks: HealthHooks,
  ) {
    this.probeDelayMs = faults.probeInitialMs;
  }

  get state(): SlotState {
    return this.current;
  }

  /**
   * A stable version went live. A new version saved while the old one was
   * quarantined (the author's fix) serves at once, on probation, instead of
   * waiting for a probe of the old one.
   */
  loaded(): void {
    if (this.current === 'quarantined') {
      clearTimeout(this.probeTimer);
      this.probationUntil = Date.now() + this.faults.crashWindowMs;
    }
    this.current = 'ready';
  }

  /** A load was refused or failed: only a slot with nothing serving is 'failed'. */
  loadFailed(serving: boolean): void {
    if (!serving) this.current = 'failed';
  }

  /**
   * A worker of `pool` crashed. A canary that crashes too often is rolled
   * back; a stable version is quarantined; otherwise the worker is replaced,
   * a little later with each crash in the window so that a crash loop does
   * not spin.
   */
  crashed(pool: WorkerPool): CrashVerdict {
    const now = Date.now();
    const window = (this.crashes.get(pool) ?? []).filter((t) => now - t < this.faults.crashWindowMs);
    window.push(now);
    this.crashes.set(pool, window);
    if (pool.kind === 'canary') {
      if (window.length >= this.faults.crashLimit) return { do: 'roll-back-canary' };
    } else if (now < this.probationUntil || window.length >= this.faults.crashLimit) {
      this.quarantine(pool);
      return { do: 'quarantine' };
    }
    return { do: 'replace', delayMs: window.length <= 1 ? 0 : Math.min(100 * 2 ** (window.length - 2), 2_000) };
  }

  /** The slot is gone: no more probes. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.probeTimer);
  }

  private quarantine(pool: WorkerPool): void {
    this.current = 'quarantined';
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(this.probeDelayMs * 2, this.faults.probeMaxMs);
    this.hooks.quarantined(pool, delay);
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(pool), delay);
  }

  /** Half-open: start the version again; it serves on probation for one crash window. */
  private async probe(pool: WorkerPool): Promise<void> {
    if (this.stopped) return;
    this.crashes.delete(pool);
    let started: boolean;
    try {
      started = await this.hooks.probe(pool);
    } catch {
      if (!this.stopped) this.quarantine(pool);
      return;
    }
    if (!started || this.stopped) return;
    this.current = 'ready';
    this.probationUntil = Date.now() + this.faults.crashWindowMs;
    this.hooks.recovered(pool);
  }
}
