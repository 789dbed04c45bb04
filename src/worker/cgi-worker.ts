/**
 * One worker thread running one version of one unit (a CGI, a consumer or a
 * schedule), seen from the host. Whatever way the thread ends, every request
 * or run it held is settled at once (502 CGI_CRASHED): nothing may hang
 * because a thread died. A consumer's jobs come to it from the store thread,
 * not from here (see store/queue/consumers.ts); the host only starts and drains it.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { MessagePort, Worker } from 'node:worker_threads';
import { CgiError } from '../errors.js';
import { Outbox } from '../ports/outbox.js';
import { BEAT, type HostToWorker, type LoadSpec, type UnitMeta, type WorkerRequest, type WorkerToHost } from './protocol.js';
import { bootThread, type BootedThread } from './spare.js';

export type WorkerReply = Extract<WorkerToHost, { t: 'res' } | { t: 'raw' }>;
export type ExitReason = 'crash' | 'exit' | 'oom' | 'timeout' | 'memory' | 'stuck' | 'retired' | 'load-error';
type LogMessage = Extract<WorkerToHost, { t: 'log' }>;
export type TallyMessage = Extract<WorkerToHost, { t: 'tally' }>;
/** How a schedule's run ended. */
export type RunOutcome = { ok: true } | { ok: false; error: string };

interface InFlight {
  resolve(r: WorkerReply | RunOutcome): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface CgiWorkerOptions {
  workerFile: string;
  /** What to load; its storePort is transferred to the thread. */
  spec: LoadSpec;
  maxHeapMb: number;
  heartbeatMs: number;
  /** A thread booted ahead of need, when one with this heap bound is at hand. */
  takeSpare?(maxHeapMb: number): BootedThread | undefined;
  onLog(m: LogMessage): void;
  /** ctx.metrics and ctx.fetch counts. */
  onTally?(m: TallyMessage): void;
  onExit(w: CgiWorker, reason: ExitReason, error?: Error): void;
}

export class CgiWorker {
  readonly ready: Promise<UnitMeta>;
  readonly startedAt = Date.now();
  private readonly thread: Worker;
  private readonly outbox: Outbox<HostToWorker>;
  private readonly beat: Float64Array;
  private readonly inflight = new Map<number, InFlight>();
  private nextId = 1;
  private endReason: ExitReason | undefined;
  private lastError: Error | undefined;
  private drainWaiters: Array<() => void> = [];
  private jobsDrained?: () => void;
  exited = false;

  constructor(private readonly opts: CgiWorkerOptions) {
    const load = opts.spec;
    const spare = opts.takeSpare?.(opts.maxHeapMb);
    const booted = spare ?? bootThread(opts.workerFile, opts.maxHeapMb, opts.heartbeatMs, load);
    this.thread = booted.thread;
    this.beat = new Float64Array(booted.heartbeat);
    if (spare) this.thread.postMessage([{ t: 'load', spec: load } satisfies HostToWorker], [load.storePort]);
    this.outbox = new Outbox(this.thread);
    this.ready = new Promise<UnitMeta>((resolve, reject) => {
      const receive = (m: WorkerToHost) => {
        switch (m.t) {
          case 'res':
          case 'raw':
            return this.settle(m.id, m);
          case 'ran':
            return this.settle(m.id, m.ok ? { ok: true } : { ok: false, error: m.error ?? 'failed' });
          case 'log':
            return opts.onLog(m);
          case 'tally':
            return opts.onTally?.(m);
          case 'drained':
            return this.jobsDrained?.();
          case 'ready':
            return resolve(m.meta);
          case 'load-error':
            this.lastError = new CgiError('CGI_REFUSED', m.message);
            reject(this.lastError);
            void this.terminate('load-error');
        }
      };
      this.thread.on('message', (batch: WorkerToHost[]) => {
        for (const m of batch) receive(m);
      });
      this.thread.on('error', (e) => {
        this.lastError = e;
      });
      this.thread.on('exit', (code) => {
        this.exited = true;
        const reason = this.endReason ?? (isOom(this.lastError) ? 'oom' : this.lastError ? 'crash' : 'exit');
        const why = this.lastError?.message ?? `the worker exited (code ${code})`;
        reject(new Error(`the CGI's worker ended before it was ready: ${why}`));
        // Only fail what is still unfinished: these requests lost their worker.
        for (const [id, p] of this.inflight) {
          clearTimeout(p.timer);
          this.inflight.delete(id);
          p.reject(new CgiError('CGI_CRASHED', 'the worker serving this request died'));
        }
        this.notifyDrained();
        this.jobsDrained?.();
        opts.onExit(this, reason, this.lastError);
      });
    });
    // A failed load is reported through `ready`; nobody else must see it as unhandled.
    this.ready.catch(() => {});
  }

  get version(): string {
    return this.opts.spec.version;
  }
  get inflightCount(): number {
    return this.inflight.size;
  }
  get alive(): boolean {
    return !this.exited && this.endReason === undefined;
  }
  /** Milliseconds since the worker's event loop last ran its heartbeat. */
  staleMs(now = Date.now()): number {
    return now - this.beat[BEAT.time]!;
  }
  /** The period the worker beats at now: heartbeatMs while it works, up to IDLE_FACTOR times that while idle. */
  get beatPeriodMs(): number {
    return this.beat[BEAT.periodMs] || this.opts.heartbeatMs;
  }
  get heapUsed(): number {
    return this.beat[BEAT.heapUsed]!;
  }
  get externalBytes(): number {
    return this.beat[BEAT.external]!;
  }
  get threadId(): number {
    return this.thread.threadId;
  }
  /** The thread's cumulative event-loop utilisation (the monitor diffs two of them). */
  loopUtilization(): EventLoopUtilization {
    return this.thread.performance.eventLoopUtilization();
  }

  /**
   * Sends one request; `onSent` receives its id, for `cancel` when the client
   * goes away (the CGI's ctx.signal fires, ending a held long-poll).
   */
  dispatch(req: Omit<WorkerRequest, 't' | 'id'>, timeoutMs: number, onSent?: (id: number) => void): Promise<WorkerReply> {
    if (!this.alive) return Promise.reject(new CgiError('CGI_CRASHED', 'the worker serving this request died'));
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(() => this.timeOut(id, new CgiError('CGI_TIMEOUT', 'the CGI did not answer in time')), timeoutMs);
      this.inflight.set(id, { resolve: resolve as InFlight['resolve'], reject, timer });
      (req as WorkerRequest).t = 'req';
      (req as WorkerRequest).id = id;
      this.outbox.push(req as WorkerRequest);
      onSent?.(id);
    });
  }

  /** Runs a schedule once; a run past `timeoutMs` is aborted (ctx.signal) and reported as failed. */
  run(scheduledAt: number, timeoutMs: number): Promise<RunOutcome> {
    if (!this.alive) return Promise.resolve({ ok: false, error: "the schedule's worker is gone" });
    const id = this.nextId++;
    return new Promise<RunOutcome>((resolve) => {
      const fail = (e: Error) =>
        resolve({ ok: false, error: e instanceof CgiError && e.code === 'CGI_CRASHED' ? 'the worker died during the run' : e.message });
      const timer = setTimeout(() => this.timeOut(id, new CgiError('CGI_TIMEOUT', `the run took over ${timeoutMs} ms`)), timeoutMs);
      this.inflight.set(id, { resolve: resolve as InFlight['resolve'], reject: fail, timer });
      this.outbox.push({ t: 'run', id, scheduledAt });
    });
  }

  /** Runs a consumer's handler once on `payload` (JSON text), outside the queue: what cgihost/testing's deliver() does. */
  runJob(payload: string, job: Extract<HostToWorker, { t: 'run-job' }>['job'], timeoutMs: number): Promise<RunOutcome> {
    if (!this.alive) return Promise.resolve({ ok: false, error: "the consumer's worker is gone" });
    const id = this.nextId++;
    return new Promise<RunOutcome>((resolve) => {
      const fail = (e: Error) =>
        resolve({ ok: false, error: e instanceof CgiError && e.code === 'CGI_CRASHED' ? 'the worker died during the job' : e.message });
      const timer = setTimeout(() => this.timeOut(id, new CgiError('CGI_TIMEOUT', `the job took over ${timeoutMs} ms`)), timeoutMs);
      this.inflight.set(id, { resolve: resolve as InFlight['resolve'], reject: fail, timer });
      this.outbox.push({ t: 'run-job', id, payload, job });
    });
  }

  /** A consumer's pool is live: the worker subscribes to its topic. */
  consume(): void {
    this.outbox.push({ t: 'consume' });
  }

  /** A consumer being retired: it takes no new job; resolves once it holds none (or after `ms`). */
  drainJobs(ms: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.jobsDrained = undefined;
        resolve();
      }
      this.jobsDrained = done;
      this.outbox.push({ t: 'drain' });
    });
  }

  /** The client went away: settle the request now and tell the CGI. */
  cancel(id: number): void {
    this.timeOut(id, new Error('client went away'));
  }

  /** Resolves once nothing is in flight (used to retire an old version after a swap). */
  drained(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  async terminate(reason: ExitReason): Promise<void> {
    if (this.exited) return;
    this.endReason ??= reason;
    await this.thread.terminate();
  }

  private settle(id: number, r: WorkerReply | RunOutcome): void {
    const p = this.inflight.get(id);
    if (!p) return; // timed out already
    this.inflight.delete(id);
    clearTimeout(p.timer);
    p.resolve(r);
    if (this.inflight.size === 0) this.notifyDrained();
  }

  private timeOut(id: number, why: Error): void {
    const p = this.inflight.get(id);
    if (!p) return;
    this.inflight.delete(id);
    clearTimeout(p.timer);
    p.reject(why);
    this.outbox.push({ t: 'abort', id });
    // A worker whose event loop has not turned for a while is stuck in synchronous code: replace it.
    // Only a request that ran out of time says anything about the worker: a client going away does not.
    if (why instanceof CgiError && why.code === 'CGI_TIMEOUT' && this.staleMs() > Math.max(3 * this.beatPeriodMs, 250)) {
      void this.terminate('timeout');
    }
    if (this.inflight.size === 0) this.notifyDrained();
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

function isOom(e: Error | undefined): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
}
