/** A schedule inside its worker: each 'run' from the host is one run of the handler, answered with how it ended. */
import type { ScheduleDefinition } from '../sdk/units.js';
import { RunContext } from './context.js';
import { describe } from './load-unit.js';
import type { HostToWorker, ScheduleMeta } from './protocol.js';
import type { Runtime } from './runtime.js';

export function runSchedule(rt: Runtime, def: ScheduleDefinition, meta: ScheduleMeta): (m: HostToWorker) => void {
  const running = new Map<number, RunContext>();

  async function run(id: number, scheduledAt: number): Promise<void> {
    const ctx = new RunContext(rt, scheduledAt, meta.cron);
    running.set(id, ctx);
    try {
      await def.handler(ctx);
      rt.post({ t: 'ran', id, ok: true });
    } catch (e) {
      rt.post({ t: 'log', level: 'error', msg: 'schedule run failed', fields: { error: describe(e) }, requestId: ctx.requestId });
      rt.post({ t: 'ran', id, ok: false, error: e instanceof Error ? e.message || e.name : String(e) });
    } finally {
      running.delete(id);
    }
  }

  return (m) => {
    if (m.t === 'run') void run(m.id, m.scheduledAt);
    else if (m.t === 'abort') running.get(m.id)?.abort();
  };
}
