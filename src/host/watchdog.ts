/**
 * Watches every worker from outside: memory beyond its bound (Buffers are not
 * covered by resourceLimits), and event loops that stopped turning. Reads the
 * shared heartbeat, so it works while a worker is stuck in synchronous code.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../monitor/log.js';
import type { Registry } from './registry.js';

export class Watchdog {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly registry: Registry, private readonly config: Config, private readonly log: Logger) {
    this.timer = setInterval(() => this.check(), Math.max(50, config.faults.heartbeatMs * 2));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const rssOver = process.memoryUsage.rss() > this.config.faults.processRssMb * 1024 * 1024;
    const staleAfter = Math.max(4 * this.config.faults.heartbeatMs, 400);
    for (const slot of this.registry.slots.values()) {
      const limits = slot.limits();
      for (const w of slot.workers()) {
        if (!w.alive) continue;
        const stale = w.staleMs(now);
        if (w.externalBytes > limits.maxExternalMb * 1024 * 1024) {
          this.log.warn('worker over its memory bound', { cgi: slot.name, version: w.version, externalMb: Math.round(w.externalBytes / 2 ** 20) });
          void w.terminate('memory');
        } else if (rssOver && stale > staleAfter) {
          // The process is over budget and this worker cannot even report: a synchronous allocation loop.
          this.log.warn('process over its memory bound; terminating a stuck worker', { cgi: slot.name, version: w.version });
          void w.terminate('memory');
        } else if (stale > limits.timeoutMs + 1_000) {
          this.log.warn('worker event loop stuck', { cgi: slot.name, version: w.version, staleMs: stale });
          void w.terminate('stuck');
        }
      }
    }
  }
}
