/**
 * One name in the cgis folder — a CGI, a consumer or a schedule (what the
 * stable version's file defines) — with its stable version and optional
 * canary, each a pool of workers. The slot ties the three concerns together
 * — the pools (worker-pool.ts), the crash window and quarantine that own its
 * state (slot-health.ts), the canary split and judge (canary.ts) — keeps the
 * one set of request counters (slot-counters.ts) that all of them and
 * /metrics read, and a schedule's clock (schedule-clock.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import type { TypeIssue } from './typecheck.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { CgiWorker, type ExitReason, type RunOutcome, type TallyMessage } from '../worker/cgi-worker.js';
import type { UnitKind, UnitMeta } from '../worker/protocol.js';
import type { BootedThread } from '../worker/spare.js';
import type { PortOwner } from '../store/platform-api.js';
import { groupEnv } from './group-env.js';
import { ScheduleClock } from './schedule-clock.js';
import { CanarySplit } from './canary.js';
import type { CompiledCgi } from './compile.js';
import { CgiError, type RequestOutcome } from '../errors.js';
import { SlotCounters } from './slot-counters.js';
import { SlotHealth, type SlotState } from './slot-health.js';
import { WorkerPool, type PoolKind } from './worker-pool.js';

export type { SlotState } from './slot-health.js';

export interface LoadError {
  message: string;
  file: string;
  line?: number;
  at: number;
}

export interface SlotEnv {
  config: Config;
  log: Logger;
  workerFile: string;
  /** A port to the store thread bound to the unit's group (its kv space). */
  connectStore(owner: PortOwner): MessagePort;
  /** The store's SQLite file: workers read ctx.kv and inboxes (sync) on a read-only connection of their own. */
  sqliteFile?: string;
  /** The store's count of committed recalls, for the workers' cached message rows. */
  recalls?: Int32Array;
  /** The store's count of commits, for the workers' read snapshots. */
  commits?: Int32Array;
  takeSpare?(maxHeapMb: number): BootedThread | undefined;
  onWorkerExit(cgi: string, version: string, reason: ExitReason): void;
  onAlert(name: string, fields: Record<string, unknown>): void;
  /** ctx.metrics and ctx.fetch counts of a unit's workers. */
  onWorkerTally?(group: string, unit: string, m: TallyMessage): void;
  /** A schedule's firing: take its lease in the store (false: another host runs it), then record the outcome. */
  leaseSchedule?(name: string, fireAt: number): Promise<boolean>;
  scheduleFinished?(name: string, fireAt: number, outcome: RunOutcome): void;
  onWorkerLog(
    cgi: string,
    version: string,
    m: { level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown>; requestId?: string },
  ): void;
  /** Type errors of these files (hot reload checks what it swapped in); absent where types are not checked. */
  typeCheck?(files: string[]): Promise<TypeIssue[]>;
}

export interface CgiLimits {
  workers: number;
  timeoutMs: number;
  maxHeapMb: number;
  maxExternalMb: number;
}

export class Slot {
  stable?: WorkerPool;
  canary?: WorkerPool;
  lastError?: LoadError;
  /** Type errors of the version serving (stable, then canary), found after it was swapped in. */
  typeErrors: TypeIssue[] = [];
  restarts = 0;
  readonly counters = new SlotCounters();
  /** A schedule's clock (while the stable version is a schedule). */
  clock?: ScheduleClock;
  private readonly health: SlotHealth;
  private readonly split: CanarySplit;
  private removed = false;

  constructor(
    readonly name: string,
    public group: string,
    public file: string,
    private readonly env: SlotEnv,
  ) {
    this.health = new SlotHealth(env.config.faults, {
      quarantined: (pool, probeInMs) => {
        void pool.stop('retired');
        const fields = { cgi: this.name, version: pool.version, probeInMs };
        this.env.onAlert('cgi_quarantined', fields);
        this.env.log.error('CGI quarantined after repeated crashes', fields);
      },
      probe: async (pool) => {
        if (this.removed || pool !== this.stable) return false;
        await pool.start(this.limits().workers);
        return true;
      },
      recovered: (pool) => this.env.log.info('CGI back from quarantine', { cgi: this.name, version: pool.version }),
    });
    this.split = new CanarySplit(name, env.config.canary[name]?.percent ?? 0, env.config.canaryPolicy, (why) => {
      const fields = { cgi: this.name, version: this.canary?.version, why };
      this.env.onAlert('canary_rolled_back', fields);
      this.env.log.error('canary rolled back', fields);
    });
  }

  get state(): SlotState {
    return this.health.state;
  }

  /** What the stable version defines ('cgi' until one has loaded). */
  get kind(): UnitKind {
    return this.stable?.meta.kind ?? 'cgi';
  }

  get canaryPercent(): number {
    return this.split.percent;
  }

  limits(): CgiLimits {
    const d = this.env.config.cgiDefaults;
    const o = this.env.config.cgis[this.name] ?? {};
    return {
      workers: o.workers ?? d.workers,
      timeoutMs: o.timeoutMs ?? this.stable?.meta?.timeoutMs ?? d.timeoutMs,
      maxHeapMb: o.maxHeapMb ?? d.maxHeapMb,
      maxExternalMb: o.maxExternalMb ?? d.maxExternalMb,
    };
  }

  /**
   * Loads a compiled version on fresh workers and moves traffic to it only once
   * every worker has loaded; the previous version finishes its in-flight
   * requests, then stops. Throws (and keeps the previous version) on failure.
   */
  async deploy(kind: PoolKind, compiled: CompiledCgi, file: string, admit?: (meta: UnitMeta) => string | undefined): Promise<WorkerPool> {
    const pool = new WorkerPool(
      kind,
      compiled,
      file,
      (p, onExit) => this.launch(p, onExit),
      (p, reason) => this.workerEnded(p, reason),
      (e) => this.env.log.error('replacement worker failed to start', { cgi: this.name, error: e.message }),
    );
    try {
      await pool.start(this.limits().workers);
      // What the file turned out to be may not be allowed here (a canary of a consumer, a topic taken, a bad cron).
      const refusal = admit?.(pool.meta) ?? (kind === 'canary' && pool.meta.kind !== 'cgi' ? 'only CGIs have canaries' : undefined);
      if (refusal) {
        await pool.stop('retired');
        throw new CgiError('CGI_REFUSED', refusal);
      }
    } catch (e) {
      pool.retired = true;
      if (kind === 'stable') this.health.loadFailed(this.stable !== undefined);
      throw e;
    }
    if (this.removed) {
      pool.retire();
      return pool;
    }
    const old = this[kind];
    this[kind] = pool;
    pool.goLive();
    this.lastError = undefined;
    if (kind === 'stable') {
      this.file = file;
      this.health.loaded();
      this.keepClock(pool.meta);
    }
    old?.retire();
    return pool;
  }

  /** Runs a schedule once (its clock or the admin API's "run now" asks), on a worker of the stable version. */
  async runOnce(scheduledAt: number): Promise<RunOutcome> {
    const pool = this.stable;
    if (!pool || this.state === 'quarantined' || pool.meta.kind !== 'schedule') return { ok: false, error: `${this.name} is not running` };
    let w: CgiWorker;
    try {
      w = await pool.pick();
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
    return w.run(scheduledAt, pool.meta.timeoutMs);
  }

  /** A load of this slot's file was refused or failed (the previous version, if any, keeps serving). */
  loadFailed(error: LoadError): void {
    this.lastError = error;
    this.health.loadFailed(this.stable !== undefined);
  }

  /** A request's version: the canary for the configured share of users (by a stable hash of the uid), else stable. */
  route(uid: string | undefined): WorkerPool {
    if (this.state === 'quarantined') throw new CgiError('CGI_UNAVAILABLE', `CGI ${this.name} is quarantined after repeated crashes`);
    if (this.canary && this.split.takes(uid)) return this.canary;
    if (!this.stable) throw new CgiError('CGI_UNAVAILABLE', `CGI ${this.name} is not loaded`);
    return this.stable;
  }

  /** A request reached this slot (counted in flight until `finished`). */
  started(): void {
    this.counters.started();
  }

  /**
   * Counts a finished request (`pool` undefined: turned away before a version was chosen) and judges the canary.
   * `ms` is service time; `heldMs` the time it waited in a long-poll (counted apart).
   */
  finished(pool: WorkerPool | undefined, status: number, code: RequestOutcome, ms: number, heldMs = 0): void {
    const v = this.counters.finished(pool?.version ?? '', status, code, ms / 1000, heldMs / 1000);
    if (pool && pool === this.canary && this.stable) this.split.judge(v, this.counters.byVersion.get(this.stable.version));
  }

  setCanaryPercent(p: number): void {
    this.split.percent = p;
  }

  /** The canary is gone (its file deleted, or promoted: the caller replaces the stable file). */
  dropCanary(): void {
    const c = this.canary;
    this.canary = undefined;
    c?.retire();
  }

  remove(): void {
    this.removed = true;
    this.health.stop();
    void this.clock?.stop();
    this.clock = undefined;
    this.stable?.retire();
    this.canary?.retire();
    this.stable = this.canary = undefined;
  }

  workers(): CgiWorker[] {
    return [...(this.stable?.workers ?? []), ...(this.canary?.workers ?? [])];
  }

  private launch(pool: WorkerPool, onExit: (w: CgiWorker, reason: ExitReason) => void): CgiWorker {
    const limits = this.limits();
    const config = this.env.config;
    const group = this.group;
    return new CgiWorker({
      workerFile: this.env.workerFile,
      spec: {
        cgi: this.name,
        group,
        file: pool.file,
        version: pool.version,
        code: pool.compiled.code,
        storePort: this.env.connectStore({ group, unit: this.name }),
        env: groupEnv(config, group),
        fetchAllow: config.cgiGroups[group]?.fetchAllow ?? [],
        timeoutMs: config.cgis[this.name]?.timeoutMs,
        defaultTimeoutMs: config.cgiDefaults.timeoutMs,
        sqliteFile: this.env.sqliteFile,
        recalls: this.env.recalls,
        commits: this.env.commits,
      },
      maxHeapMb: limits.maxHeapMb,
      heartbeatMs: config.faults.heartbeatMs,
      takeSpare: this.env.takeSpare,
      onLog: (m) => this.env.onWorkerLog(this.name, pool.version, m),
      onTally: (m) => this.env.onWorkerTally?.(group, this.name, m),
      onExit,
    });
  }

  /** A schedule gets a clock (or its new expression); anything else has none. */
  private keepClock(meta: UnitMeta): void {
    if (meta.kind !== 'schedule') {
      void this.clock?.stop();
      this.clock = undefined;
      return;
    }
    if (this.clock) return this.clock.setCron(meta.cron);
    const name = this.name;
    this.clock = new ScheduleClock(meta.cron, {
      // A quarantined schedule does not fire (its probe brings it back).
      lease: (fireAt) =>
        this.state === 'quarantined' ? Promise.resolve(false) : (this.env.leaseSchedule?.(name, fireAt) ?? Promise.resolve(true)),
      run: (scheduledAt) => this.runOnce(scheduledAt),
      finished: (fireAt, outcome) => {
        this.env.scheduleFinished?.(name, fireAt, outcome);
        const fields = { cgi: name, version: this.stable?.version, scheduledAt: fireAt };
        if (outcome.ok) this.env.log.info('schedule ran', fields);
        else this.env.log.warn('schedule run failed', { ...fields, error: outcome.error });
      },
      log: (level, msg, fields) => this.env.log.log(level, msg, { cgi: name, ...fields }),
    });
  }

  private workerEnded(pool: WorkerPool, reason: ExitReason): void {
    if (this.removed) return;
    this.restarts++;
    this.env.onWorkerExit(this.name, pool.version, reason);
    this.env.log.warn('CGI worker ended', { cgi: this.name, version: pool.version, reason });
    const verdict = this.health.crashed(pool);
    if (verdict.do === 'roll-back-canary') this.split.rollBack('the canary crashed repeatedly');
    else if (verdict.do === 'replace') pool.replaceAfter(verdict.delayMs, () => !this.removed && this.state !== 'quarantined');
  }
}
