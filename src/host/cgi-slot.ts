/**
 * One CGI name: its stable version and optional canary, each a deployment of
 * one compiled version on its own workers. Owns the life of those workers:
 * replacement with backoff after a crash, quarantine after repeated crashes,
 * re-probing, swap to a new version, and the canary split.
 */
import type { TypeIssue } from './typecheck.js';
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { CgiWorker, type ExitReason } from '../worker/cgi-worker.js';
import type { CgiMeta } from '../worker/protocol.js';
import type { BootedThread } from '../worker/spare.js';
import type { CompiledCgi } from './compile.js';
import { CgiError, type RequestOutcome } from '../errors.js';
import { SlotStats } from './slot-stats.js';

export type SlotState = 'loading' | 'ready' | 'failed' | 'quarantined';
export type DeploymentKind = 'stable' | 'canary';

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
  connectStore(): MessagePort;
  takeSpare?(maxHeapMb: number): BootedThread | undefined;
  onWorkerExit(cgi: string, version: string, reason: ExitReason): void;
  onAlert(name: string, fields: Record<string, unknown>): void;
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

/** How long a new version may take to load before it is refused. */
const LOAD_TIMEOUT_MS = 10_000;
/** How long a request waits for a replacement worker before 503. */
const WAIT_FOR_WORKER_MS = 5_000;

export class Deployment {
  readonly workers: CgiWorker[] = [];
  readonly stats = new SlotStats();
  meta!: CgiMeta;
  retired = false;
  crashes: number[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly kind: DeploymentKind,
    readonly compiled: CompiledCgi,
    readonly file: string,
  ) {}

  get version(): string {
    return this.compiled.version;
  }

  /** The live worker with the fewest requests in flight; waits a little for a replacement when none is up. */
  async pick(): Promise<CgiWorker> {
    const w = this.leastBusy();
    if (w) return w;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WAIT_FOR_WORKER_MS);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const again = this.leastBusy();
    if (!again) throw new CgiError('CGI_UNAVAILABLE', 'the CGI has no running worker');
    return again;
  }

  add(w: CgiWorker): void {
    this.workers.push(w);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  remove(w: CgiWorker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  private leastBusy(): CgiWorker | undefined {
    let best: CgiWorker | undefined;
    for (const w of this.workers) {
      if (w.alive && (!best || w.inflightCount < best.inflightCount)) best = w;
    }
    return best;
  }
}

export class CgiSlot {
  state: SlotState = 'loading';
  stable?: Deployment;
  canary?: Deployment;
  canaryPercent = 0;
  lastError?: LoadError;
  /** Type errors of the version serving (stable, then canary), found after it was swapped in. */
  typeErrors: TypeIssue[] = [];
  restarts = 0;
  readonly stats = new SlotStats();
  private probeDelayMs: number;
  private probeTimer?: NodeJS.Timeout;
  private probationUntil = 0;
  private removed = false;

  constructor(
    readonly name: string,
    public group: string,
    public file: string,
    private readonly env: SlotEnv,
  ) {
    this.probeDelayMs = env.config.faults.probeInitialMs;
    this.canaryPercent = env.config.canary[name]?.percent ?? 0;
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
  async deploy(kind: DeploymentKind, compiled: CompiledCgi, file: string): Promise<Deployment> {
    const d = new Deployment(kind, compiled, file);
    const n = this.limits().workers;
    try {
      await Promise.all(Array.from({ length: n }, () => this.startWorker(d)));
    } catch (e) {
      d.retired = true;
      await Promise.all(d.workers.map((w) => w.terminate('load-error')));
      if (kind === 'stable' && !this.stable) this.state = 'failed';
      throw e;
    }
    if (this.removed) {
      this.retire(d);
      return d;
    }
    const old = this[kind];
    this[kind] = d;
    if (kind === 'stable') {
      this.file = file;
      this.lastError = undefined;
      if (this.state !== 'quarantined') this.state = 'ready';
    } else {
      this.lastError = undefined;
    }
    if (old) this.retire(old);
    return d;
  }

  /** A request's version: the canary for the configured share of users (by a stable hash of the uid), else stable. */
  route(uid: string | undefined): Deployment {
    if (this.state === 'quarantined') throw new CgiError('CGI_UNAVAILABLE', `CGI ${this.name} is quarantined after repeated crashes`);
    const c = this.canary;
    if (c && uid !== undefined && this.canaryPercent > 0 && bucketOf(this.name, uid) < this.canaryPercent) return c;
    if (!this.stable) throw new CgiError('CGI_UNAVAILABLE', `CGI ${this.name} is not loaded`);
    return this.stable;
  }

  /** Counts a finished request and rolls a failing canary back. */
  record(d: Deployment, status: number, code: RequestOutcome, ms: number, heldMs = 0): void {
    d.stats.record(status, code, ms, heldMs);
    this.stats.record(status, code, ms, heldMs);
    if (d === this.canary && this.canaryPercent > 0) this.judgeCanary(d);
  }

  setCanaryPercent(p: number): void {
    this.canaryPercent = p;
  }

  /** The canary becomes stable (its file replaces the stable file: the caller does that). */
  dropCanary(): void {
    const c = this.canary;
    this.canary = undefined;
    if (c) this.retire(c);
  }

  remove(): void {
    this.removed = true;
    clearTimeout(this.probeTimer);
    for (const d of [this.stable, this.canary]) if (d) this.retire(d);
    this.stable = this.canary = undefined;
  }

  workers(): CgiWorker[] {
    return [...(this.stable?.workers ?? []), ...(this.canary?.workers ?? [])];
  }

  private retire(d: Deployment): void {
    d.retired = true;
    for (const w of d.workers) void w.drained().then(() => w.terminate('retired'));
  }

  private async startWorker(d: Deployment): Promise<void> {
    const limits = this.limits();
    const w = new CgiWorker({
      workerFile: this.env.workerFile,
      cgi: this.name,
      file: d.file,
      version: d.version,
      code: d.compiled.code,
      storePort: this.env.connectStore(),
      maxHeapMb: limits.maxHeapMb,
      heartbeatMs: this.env.config.faults.heartbeatMs,
      takeSpare: this.env.takeSpare,
      onLog: (m) => this.env.onWorkerLog(this.name, d.version, m),
      onExit: (worker, reason) => this.onWorkerExit(d, worker, reason),
    });
    const timer = setTimeout(() => void w.terminate('load-error'), LOAD_TIMEOUT_MS);
    try {
      d.meta = await w.ready;
    } finally {
      clearTimeout(timer);
    }
    d.add(w);
  }

  private onWorkerExit(d: Deployment, w: CgiWorker, reason: ExitReason): void {
    d.remove(w);
    if (reason === 'retired' || d.retired || this.removed) return;
    // A version that never went live failed its load, and deploy() reports that; a live one failing to reload has crashed.
    if (reason === 'load-error' && d !== this.stable && d !== this.canary) return;
    this.restarts++;
    this.env.onWorkerExit(this.name, d.version, reason);
    this.env.log.warn('CGI worker ended', { cgi: this.name, version: d.version, reason });
    const now = Date.now();
    const windowMs = this.env.config.faults.crashWindowMs;
    d.crashes = d.crashes.filter((t) => now - t < windowMs);
    d.crashes.push(now);
    if (d.kind === 'canary') {
      if (d.crashes.length >= this.env.config.faults.crashLimit) return this.rollBackCanary('the canary crashed repeatedly');
    } else if (now < this.probationUntil || d.crashes.length >= this.env.config.faults.crashLimit) {
      return this.quarantine(d);
    }
    // Back off a little more with each crash in the window, so a crash loop does not spin.
    const delay = d.crashes.length <= 1 ? 0 : Math.min(100 * 2 ** (d.crashes.length - 2), 2_000);
    setTimeout(() => this.replace(d), delay);
  }

  private replace(d: Deployment): void {
    if (d.retired || this.removed || this.state === 'quarantined') return;
    // A replacement that fails to load ends its worker, and onWorkerExit counts that as a crash.
    this.startWorker(d).catch((e: Error) => this.env.log.error('replacement worker failed to start', { cgi: this.name, error: e.message }));
  }

  private quarantine(d: Deployment): void {
    this.state = 'quarantined';
    for (const w of d.workers) void w.terminate('retired');
    this.env.onAlert('cgi_quarantined', { cgi: this.name, version: d.version, probeInMs: this.probeDelayMs });
    this.env.log.error('CGI quarantined after repeated crashes', { cgi: this.name, version: d.version, probeInMs: this.probeDelayMs });
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(this.probeDelayMs * 2, this.env.config.faults.probeMaxMs);
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(d), delay);
  }

  /** Half-open: start the version again; one more crash soon after sends it straight back to quarantine. */
  private async probe(d: Deployment): Promise<void> {
    if (this.removed || d !== this.stable) return;
    d.crashes = [];
    try {
      await Promise.all(Array.from({ length: this.limits().workers }, () => this.startWorker(d)));
      this.state = 'ready';
      this.probationUntil = Date.now() + this.env.config.faults.crashWindowMs;
      this.env.log.info('CGI back from quarantine', { cgi: this.name, version: d.version });
    } catch {
      this.quarantine(d);
    }
  }

  private judgeCanary(c: Deployment): void {
    const policy = this.env.config.canaryPolicy;
    const s = this.stable;
    if (!s || c.stats.requests < policy.minRequests) return;
    const delta = c.stats.errorRate() - s.stats.errorRate();
    if (delta > policy.maxErrorRateDelta) {
      this.rollBackCanary(
        `canary 5xx rate ${(c.stats.errorRate() * 100).toFixed(1)}% vs stable ${(s.stats.errorRate() * 100).toFixed(1)}%`,
      );
    }
  }

  private rollBackCanary(why: string): void {
    if (this.canaryPercent === 0) return;
    this.canaryPercent = 0;
    this.env.onAlert('canary_rolled_back', { cgi: this.name, version: this.canary?.version, why });
    this.env.log.error('canary rolled back', { cgi: this.name, version: this.canary?.version, why });
  }
}

/** 0..99, stable per (CGI, uid): the same user always gets the same version of a CGI. */
export function bucketOf(cgi: string, uid: string): number {
  // FNV-1a over "cgi:uid".
  let h = 0x811c9dc5;
  const s = `${cgi}:${uid}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}
