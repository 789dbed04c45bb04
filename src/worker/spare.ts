/**
 * A worker thread booted ahead of need. Booting a thread (node's bootstrap and
 * the SDK with zod) is most of the time between saving a CGI and serving it,
 * and between a crash and the replacement answering; a spare has done that
 * already and only has to load the CGI.
 */
import { Worker } from 'node:worker_threads';
import { BEAT, BEAT_SLOTS, type LoadSpec, type WorkerData } from './protocol.js';

export interface BootedThread {
  thread: Worker;
  heartbeat: SharedArrayBuffer;
  maxHeapMb: number;
}

export function bootThread(workerFile: string, maxHeapMb: number, heartbeatMs: number, load?: LoadSpec): BootedThread {
  const heartbeat = new SharedArrayBuffer(BEAT_SLOTS * 8);
  const beat = new Float64Array(heartbeat);
  beat[BEAT.time] = Date.now();
  beat[BEAT.periodMs] = heartbeatMs;
  const workerData: WorkerData = { load, heartbeat, heartbeatMs };
  const thread = new Worker(workerFile, {
    workerData,
    transferList: load ? [load.storePort] : [],
    // A young generation of up to 48 MB (V8 grows it only under allocation):
    // fewer scavenges for a busy CGI (sendmsg measured +15% req/s, -10% CPU
    // per request against 16 MB), no cost for an idle one.
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, maxYoungGenerationSizeMb: Math.min(48, Math.max(4, maxHeapMb / 2.5)) },
    stdout: false,
    stderr: false,
    name: load ? `cgi:${load.cgi}@${load.version}` : 'cgi:spare',
  });
  return { thread, heartbeat, maxHeapMb };
}

/**
 * Keeps one spare thread for the default heap bound; taking it starts the
 * next one. At start-up the host primes one per CGI it is about to load, so
 * the threads boot while the store opens and the CGIs compile.
 */
export class SpareThreads {
  private readonly spares: BootedThread[] = [];
  private stopped = false;
  /** Between prime() and trim(): the threads taken are not replaced yet (start-up would pay for it). */
  private priming = false;

  constructor(
    private readonly workerFile: string,
    private readonly maxHeapMb: number,
    private readonly heartbeatMs: number,
  ) {
    this.refill();
  }

  /** Boots spares until n are waiting. */
  prime(n: number): void {
    this.priming = true;
    while (!this.stopped && this.spares.length < n) this.boot();
  }

  /** Start-up is over: ends spares beyond one (primed for CGIs that did not load), or boots the one. */
  trim(): void {
    this.priming = false;
    for (const s of this.spares.splice(1)) {
      s.thread.removeAllListeners('exit');
      void s.thread.terminate();
    }
    this.refill();
  }

  take(maxHeapMb: number): BootedThread | undefined {
    if (maxHeapMb !== this.maxHeapMb) return undefined;
    const s = this.spares.shift();
    if (!s) return undefined;
    s.thread.removeAllListeners('exit');
    if (!this.priming) setImmediate(() => this.refill());
    return s;
  }

  /** Resolves once every spare has ended: exiting the process while a thread still boots can abort it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.spares.splice(0).map((s) => s.thread.terminate()));
  }

  private refill(): void {
    if (this.spares.length === 0) this.boot();
  }

  private boot(): void {
    if (this.stopped) return;
    const s = bootThread(this.workerFile, this.maxHeapMb, this.heartbeatMs);
    // A spare that dies idle is simply not used.
    s.thread.once('exit', () => {
      const i = this.spares.indexOf(s);
      if (i >= 0) this.spares.splice(i, 1);
    });
    s.thread.on('error', () => {});
    this.spares.push(s);
  }
}
