/**
 * When a schedule runs (SPEC §8): at each time its 5-field cron expression
 * names, in the server's time zone (croner computes the times). Never two
 * runs of one schedule at once: a firing due while a run is still going on
 * (on any of its versions: the clock belongs to the slot, not to a version)
 * is skipped and counted. Each firing first takes a lease through the store,
 * so that hosts sharing one store run it once; missed firings (the host was
 * down) are not made up.
 */
import { Cron } from 'croner';
import type { RunOutcome } from '../worker/cgi-worker.js';

export interface ClockDeps {
  /** Takes this firing's lease; false: someone else runs it. */
  lease(fireAt: number): Promise<boolean>;
  /** Runs the schedule once on one of its workers. */
  run(scheduledAt: number): Promise<RunOutcome>;
  /** The run ended (recorded in the store for the admin API). */
  finished(fireAt: number, outcome: RunOutcome): void;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface LastRun {
  scheduledAt: number;
  startedAt: number;
  finishedAt?: number;
  ok?: boolean;
  error?: string;
  manual: boolean;
}

/** setTimeout's longest delay; a firing further away is reached in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Parses a 5-field expression; throws with croner's reason. */
export function parseCron(expr: string): Cron {
  if (expr.trim().split(/\s+/).length !== 5) throw new Error(`cron "${expr}" must have 5 fields`);
  return new Cron(expr, { mode: '5-part', paused: true });
}

export class ScheduleClock {
  runs = 0;
  failures = 0;
  skipped = 0;
  last?: LastRun;
  private cron: Cron;
  private timer?: NodeJS.Timeout;
  private nextAt: number | null = null;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    expr: string,
    private readonly deps: ClockDeps,
  ) {
    this.cron = parseCron(expr);
    this.arm();
  }

  get expression(): string {
    return this.cron.getPattern() ?? '';
  }

  get nextRunAt(): number | null {
    return this.nextAt;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** A new version with (maybe) another expression. */
  setCron(expr: string): void {
    if (expr === this.expression) return;
    this.cron = parseCron(expr);
    this.arm();
  }

  /** Runs now (the admin API's "run now"), unless a run is going on. */
  runNow(): { started: boolean; reason?: string } {
    return this.fire(Date.now(), true);
  }

  /** Resolves once no run is going on (the host is stopping). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.nextAt = null;
    await this.running;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const next = this.cron.nextRun();
    this.nextAt = next ? next.getTime() : null;
    if (this.nextAt === null) return;
    const due = this.nextAt;
    this.timer = setTimeout(
      () => {
        if (Date.now() + 5 < due) return this.arm();
        this.fire(due, false);
        this.arm();
      },
      Math.min(MAX_DELAY_MS, Math.max(0, due - Date.now())),
    );
    this.timer.unref();
  }

  private fire(scheduledAt: number, manual: boolean): { started: boolean; reason?: string } {
    if (this.stopped) return { started: false, reason: 'the host is stopping' };
    if (this.running) {
      this.skipped++;
      this.deps.log('warn', 'schedule firing skipped: the previous run is still going on', { scheduledAt, manual });
      return { started: false, reason: 'a run is in progress' };
    }
    const run = (async () => {
      if (!(await this.deps.lease(scheduledAt).catch(() => false))) {
        if (manual) this.deps.log('info', 'schedule firing left to another host (its lease was taken)', { scheduledAt });
        return;
      }
      const last: LastRun = { scheduledAt, startedAt: Date.now(), manual };
      this.last = last;
      this.runs++;
      const outcome = await this.deps.run(scheduledAt);
      last.finishedAt = Date.now();
      last.ok = outcome.ok;
      if (!outcome.ok) {
        last.error = outcome.error;
        this.failures++;
      }
      this.deps.finished(scheduledAt, outcome);
    })().catch((e: unknown) => this.deps.log('error', 'schedule run failed in the host', { error: String(e) }));
    this.running = run.finally(() => (this.running = undefined));
    return { started: true };
  }
}
