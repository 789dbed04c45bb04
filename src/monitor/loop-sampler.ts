/**
 * Event-loop utilisation of the main thread and of every CGI worker, over
 * the span between two samples (taken every few seconds by the monitor, so
 * a scrape or a dashboard read costs nothing).
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Registry } from '../host/registry.js';
import type { CgiWorker } from '../worker/cgi-worker.js';

export class LoopSampler {
  private mainPrev = performance.eventLoopUtilization();
  private mainNow = 0;
  private readonly prev = new WeakMap<CgiWorker, EventLoopUtilization>();
  private readonly byCgi = new Map<string, number>();

  sample(registry: Registry): void {
    const cur = performance.eventLoopUtilization();
    this.mainNow = between(cur, this.mainPrev);
    this.mainPrev = cur;
    this.byCgi.clear();
    for (const slot of registry.slots.values()) {
      let sum = 0;
      let n = 0;
      for (const w of slot.workers()) {
        if (!w.alive) continue;
        const now = w.loopUtilization();
        const before = this.prev.get(w);
        this.prev.set(w, now);
        sum += before ? between(now, before) : now.utilization;
        n++;
      }
      if (n > 0) this.byCgi.set(slot.name, sum / n);
    }
  }

  main(): number {
    return this.mainNow;
  }

  worker(cgi: string): number | null {
    return this.byCgi.get(cgi) ?? null;
  }
}

function between(now: EventLoopUtilization, before: EventLoopUtilization): number {
  const active = now.active - before.active;
  const total = active + (now.idle - before.idle);
  return total > 0 ? active / total : 0;
}
