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
  new Float64Array(heartbeat)[BEAT.time] = Date.now();
  const workerData: WorkerData = { load, heartbeat, heartbeatMs };
  const thread = new Worker(workerFile, {
    workerData,
    transferList: load ? [load.storePort] : [],
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, maxYoungGenerationSizeMb: Math.min(32, Math.max(4, maxHeapMb / 8)) },
    stdout: false,
    stderr: false,
    name: load ? `cgi:${load.cgi}@${load.version}` : 'cgi:spare',
  });
  return { thread, heartbeat, maxHeapMb };
}

/** Keeps one spare thread for the default heap bound; taking it starts the next one. */
export class SpareThreads {
  private spare?: BootedThread;
  private stopped = false;

  constructor(
    private readonly workerFile: string,
    private readonly maxHeapMb: number,
    private readonly heartbeatMs: number,
  ) {
    this.refill();
  }

  take(maxHeapMb: number): BootedThread | undefined {
    const s = this.spare;
    if (!s || s.maxHeapMb !== maxHeapMb) return undefined;
    this.spare = undefined;
    s.thread.removeAllListeners('exit');
    setImmediate(() => this.refill());
    return s;
  }

  /** Resolves once the spare has ended: exiting the process while a thread still boots can abort it. */
  async stop(): Promise<void> {
    this.stopped = true;
    const s = this.spare;
    this.spare = undefined;
    if (s) await s.thread.terminate();
  }

  private refill(): void {
    if (this.stopped || this.spare) return;
    const s = bootThread(this.workerFile, this.maxHeapMb, this.heartbeatMs);
    // A spare that dies idle is simply not used.
    s.thread.once('exit', () => {
      if (this.spare === s) this.spare = undefined;
    });
    s.thread.on('error', () => {});
    this.spare = s;
  }
}
