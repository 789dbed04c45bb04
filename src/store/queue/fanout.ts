/**
 * The fan-out consumer: writes a group message's entries into the inboxes of the
 * members at the moment of sending. It runs in the store thread, off the
 * request path: after a commit that added fan-out jobs it is scheduled with
 * setImmediate, and each turn takes due jobs in id order (the order messages
 * were sent) into ONE transaction, up to a budget of entries and time. A job's
 * entries and its `done` mark commit together, so a crash neither loses nor
 * duplicates an entry; pending jobs resume when the store opens again.
 */
import { Tx, type Batch, type GroupCommit } from '../group-commit.js';
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions } from '../options.js';
import { DueTimer } from './due-timer.js';
import { Outbox } from '../../ports/outbox.js';
import type { JobQueue, JobRow } from './jobs.js';

export const FANOUT = 'fanout';

/** A fan-out job: message row `m` of group `g` to the members of version `v`, except `x` (written inline). */
export interface MessageFanoutJob {
  k?: undefined;
  m: number;
  g: string;
  v: number;
  x: string;
  /** The media the message references: its readers get a grant. */
  media?: string;
}

/**
 * A recall's fan-out: system message row `m` (the `recalled` event of message
 * row `r`) to every inbox that holds `r` when the job runs, except `x` (the
 * recaller's, written inline). It runs after the message's own fan-out job
 * (jobs run in id order), so it finds every member that job reached.
 */
export interface RecallFanoutJob {
  k: 'recall';
  m: number;
  r: number;
  x: string;
}

export type FanoutJob = MessageFanoutJob | RecallFanoutJob;

export interface FanoutTarget {
  /** The members of a group at a membership version, in join order. */
  members(groupId: string, version: number): readonly string[];
  /** How to write one member's entry of this job's message (its inbox entry, its media grant). */
  post(job: MessageFanoutJob): (tx: Tx, uid: string) => void;
  /** Writes a recall's entries; returns how many. */
  recall(tx: Tx, job: RecallFanoutJob): number;
  /** The job no longer needs its membership version. */
  release(tx: Tx, groupId: string, version: number): void;
  /** A job was dead-lettered (raise an alert). */
  dead(tx: Tx, job: JobRow, error: string): void;
}

/** Jobs read per query; a turn re-reads while budget remains. */
const PAGE = 256;
/** After a lost transaction (disk full, I/O error), wait this long before trying again. */
const LOST_RETRY_MS = 1_000;

export class FanoutConsumer {
  private scheduled = false;
  private stopped = false;
  private readonly timer = new DueTimer(() => this.wake());

  constructor(
    private readonly jobs: JobQueue,
    private readonly commit: GroupCommit,
    private readonly target: FanoutTarget,
    private readonly opts: ResolvedQueueOptions,
    private readonly log: Logger,
  ) {}

  /** New jobs were committed (or the store just opened): process them soon. */
  wake(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.turn);
  }

  stop(): void {
    this.stopped = true;
    this.timer.cancel();
  }

  /** Whether jobs are known to wait (for idle checks in tests and close). */
  get busy(): boolean {
    return this.scheduled;
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    // The commit that queued these jobs answered its writes into this thread's outboxes, whose sends come after this
    // turn: they leave first, so a sender's answer does not wait for its message's fan-out.
    Outbox.flushPending();
    const now = Date.now();
    const first = this.jobs.due(FANOUT, now, PAGE);
    if (first.length === 0) {
      // Nothing due: no transaction at all.
      this.armRetryTimer(now);
      return;
    }
    const deadline = performance.now() + this.opts.fanoutBatchMs;
    let more = false;
    const ok = this.commit.background((items) => {
      more = false;
      let entries = 0;
      let jobs = 0;
      let page = first;
      for (;;) {
        for (const job of page) {
          // Always at least one job, then up to the budget of entries and time.
          if (jobs > 0 && (entries >= this.opts.fanoutBatchEntries || performance.now() > deadline)) {
            more = true;
            return;
          }
          jobs++;
          items.run(
            (tx) => (entries += this.run(tx, job, now)),
            (err) => this.failed(items.batch, job, err),
          );
        }
        if (page.length < PAGE) return;
        // Done and failed jobs left the due set: the next page starts after them.
        page = this.jobs.due(FANOUT, now, PAGE);
        if (page.length === 0) return;
      }
    });
    if (!ok) {
      this.timer.schedule(Date.now() + LOST_RETRY_MS);
      return;
    }
    if (more) this.wake();
    else this.armRetryTimer(now);
  };

  /**
   * Sets the timer for the earliest job in backoff. Asked after every turn, not
   * only when a retry is scheduled: a timer may fire a little before its job is
   * due, and that turn must leave a timer behind.
   */
  private armRetryTimer(now: number): void {
    const next = this.jobs.nextDue(FANOUT, '', now);
    if (next !== null) this.timer.schedule(next);
  }

  private run(tx: Tx, job: JobRow, now: number): number {
    const p = JSON.parse(job.payload) as FanoutJob;
    if (p.k === 'recall') {
      const n = this.target.recall(tx, p);
      this.jobs.done(job.id, now);
      return n;
    }
    const members = this.target.members(p.g, p.v);
    const deliver = this.target.post(p);
    let n = 0;
    for (const uid of members) {
      if (uid === p.x) continue;
      deliver(tx, uid);
      n++;
    }
    this.jobs.done(job.id, now);
    this.target.release(tx, p.g, p.v);
    return n;
  }

  private failed(batch: Batch, job: JobRow, err: unknown): void {
    const tx = new Tx(batch);
    const error = err instanceof Error ? err.message : String(err);
    const r = this.jobs.fail(tx, job, error);
    batch.absorb(tx);
    if (r.dead) {
      this.log.error('fan-out job dead-lettered', { jobId: job.id, attempts: job.attempts + 1, error });
      this.target.dead(tx, job, error);
      try {
        const p = JSON.parse(job.payload) as FanoutJob;
        if (p.k !== 'recall') this.target.release(tx, p.g, p.v);
      } catch {
        // An unreadable payload holds no version.
      }
    } else {
      this.log.warn('fan-out job failed, will retry', { jobId: job.id, attempts: job.attempts + 1, error });
      this.timer.schedule(r.nextRunAt);
    }
  }

  /** On open: pending jobs resume; jobs in backoff get a timer. */
  start(): void {
    this.wake();
    this.armRetryTimer(Date.now());
  }
}
