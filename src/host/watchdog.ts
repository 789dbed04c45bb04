/**
 * Watches every worker from outside: memory beyond its bound (Buffers are not
 * covered by resourceLimits), and event loops that stopped turning. Reads the
 * shared heartbeat, so it works while a worker is stuck in synchronous code.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { CgiWorker } from '../worker/cgi-worker.js';
import type { Registry } from './registry.js';

/**
 * Over processRssMb, a silent worker is terminated only if the process grew this much while it was silent:
 * RSS that was there before (the store's cache, memory the allocator kept) is not its doing, and a CGI that
 * merely computes for a while must not be killed for it.
 */
const SILENT_GROWTH_OVER_BOUND = 32 * 1024 * 1024;

export class Watchdog {
  private readonly timer: NodeJS.Timeout;
  /** Process RSS when each worker last reported: growth while it is silent is its doing. */
  private readonly rssAtLastBeat = new WeakMap<CgiWorker, number>();

  constructor(
    private readonly registry: Registry,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.check(), Math.max(50, config.faults.heartbeatMs * 2));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const rss = process.memoryUsage.rss();
    const rssOver = rss > this.config.faults.processRssMb * 1024 * 1024;
    for (const slot of this.registry.slots.values()) {
      const limits = slot.limits();
      const bound = limits.maxExternalMb * 1024 * 1024;
      for (const w of slot.workers()) {
        if (!w.alive) continue;
        const stale = w.staleMs(now);
        // An idle worker beats less often (worker/heartbeat.ts): the bounds follow the period it published.
        const period = w.beatPeriodMs;
        const staleAfter = Math.max(4 * period, 400);
        // First sight counts too: a worker stuck before the watchdog ever saw it beat would otherwise never get a baseline.
        if (stale <= 2 * period || !this.rssAtLastBeat.has(w)) this.rssAtLastBeat.set(w, rss);
        // A worker stuck in synchronous code cannot report its memory; the process's growth since it last could is its doing.
        const grewSilently = stale > staleAfter ? rss - (this.rssAtLastBeat.get(w) ?? rss) : 0;
        if (w.externalBytes > bound) {
          this.log.warn('worker over its memory bound', {
            cgi: slot.name,
            version: w.version,
            externalMb: Math.round(w.externalBytes / 2 ** 20),
          });
          void w.terminate('memory');
        } else if (grewSilently > bound + limits.maxHeapMb * 1024 * 1024 || (rssOver && grewSilently > SILENT_GROWTH_OVER_BOUND)) {
          this.log.warn('process memory grew while a worker was stuck; terminating it', {
            cgi: slot.name,
            version: w.version,
            grewMb: Math.round(grewSilently / 2 ** 20),
          });
          void w.terminate('memory');
        } else if (stale > Math.max(limits.timeoutMs, 2 * period) + 1_000) {
          this.log.warn('worker event loop stuck', { cgi: slot.name, version: w.version, staleMs: stale });
          void w.terminate('stuck');
        }
      }
    }
  }
}
