/**
 * The workers that run one compiled version of one unit (a CGI, a consumer or
 * a schedule): started together, picked least busy, and replaced after a
 * crash, with a delay the slot's crash window chooses. A pool whose version
 * is swapped out retires: its workers finish what they hold, then stop.
 */
import { CgiWorker, type ExitReason } from '../worker/cgi-worker.js';
import type { UnitMeta } from '../worker/protocol.js';
import type { CompiledCgi } from './compile.js';
import { CgiError } from '../errors.js';

export type PoolKind = 'stable' | 'canary';

/** Makes one worker of the pool; `onExit` must be passed to the worker. */
export type LaunchWorker = (pool: WorkerPool, onExit: (w: CgiWorker, reason: ExitReason) => void) => CgiWorker;

/** How long a new version may take to load before it is refused. */
const LOAD_TIMEOUT_MS = 10_000;
/** How long a request waits for a replacement worker before 503. */
const WAIT_FOR_WORKER_MS = 5_000;

export class WorkerPool {
  readonly workers: CgiWorker[] = [];
  meta!: UnitMeta;
  /** Set (goLive) once traffic may reach the pool: a consumer's workers then take jobs. */
  live = false;
  retired = false;
  private waiters: Array<() => void> = [];

  constructor(
    readonly kind: PoolKind,
    readonly compiled: CompiledCgi,
    readonly file: string,
    private readonly launch: LaunchWorker,
    /** A worker of the pool ended other than by retirement (the slot's crash window decides what next). */
    private readonly ended: (pool: WorkerPool, reason: ExitReason) => void,
    private readonly onStartFailure: (e: Error) => void = () => {},
  ) {}

  get version(): string {
    return this.compiled.version;
  }

  /** Starts n workers and resolves once every one has loaded; on any failure ends them all and throws. */
  async start(n: number): Promise<void> {
    try {
      await Promise.all(Array.from({ length: n }, () => this.startOne()));
    } catch (e) {
      await this.stop('load-error');
      throw e;
    }
  }

  /** Starts one more worker after `delayMs`, unless the pool has retired by then. */
  replaceAfter(delayMs: number, stillWanted: () => boolean): void {
    setTimeout(() => {
      if (this.retired || !stillWanted()) return;
      // A replacement that fails to load ends its worker, and that exit counts as a crash.
      this.startOne().catch((e: Error) => this.onStartFailure(e));
    }, delayMs);
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

  /** The pool serves from now on. */
  goLive(): void {
    this.live = true;
    if (this.meta.kind === 'consumer') for (const w of this.workers) w.consume();
  }

  /**
   * Swapped out or removed: each worker stops once it has finished what it
   * holds (a consumer first stops taking jobs, and is given its timeout and a
   * second to finish the ones it runs).
   */
  retire(): void {
    this.retired = true;
    const meta = this.meta as UnitMeta | undefined;
    for (const w of this.workers) {
      const done = meta?.kind === 'consumer' ? w.drainJobs(meta.timeoutMs + 1_000) : w.drained();
      void done.then(() => w.terminate('retired'));
    }
  }

  /** Ends every worker now (quarantine, failed load, host stop); the pool may be started again. */
  async stop(reason: ExitReason): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.terminate(reason)));
  }

  private async startOne(): Promise<void> {
    const w = this.launch(this, (worker, reason) => this.exited(worker, reason));
    const timer = setTimeout(() => void w.terminate('load-error'), LOAD_TIMEOUT_MS);
    try {
      this.meta = await w.ready;
    } finally {
      clearTimeout(timer);
    }
    this.workers.push(w);
    // A replacement in a live consumer pool takes jobs at once.
    if (this.live && this.meta.kind === 'consumer') w.consume();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private exited(w: CgiWorker, reason: ExitReason): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    if (reason === 'retired' || this.retired) return;
    // A version that never went live failed its load, and start() reports that.
    if (reason === 'load-error' && !this.live) return;
    this.ended(this, reason);
  }

  private leastBusy(): CgiWorker | undefined {
    let best: CgiWorker | undefined;
    for (const w of this.workers) {
      if (w.alive && (!best || w.inflightCount < best.inflightCount)) best = w;
    }
    return best;
  }
}
