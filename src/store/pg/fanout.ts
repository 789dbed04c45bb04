/**
 * Group fan-out on PostgreSQL (queue/fanout.ts, for several hosts). A job is
 * enqueued in the transaction of the post with its group id as key. Any
 * host's worker claims due jobs with SELECT … FOR UPDATE SKIP LOCKED, only
 * the oldest pending job of each group (so one group's jobs run one at a
 * time, in the order they were made, whichever hosts run them), leases them
 * (leased_until, leased_by) and, in that same transaction, appends each
 * member's entry and marks the job done: a host killed mid-way rolls all of
 * it back and the row lock goes with its connection, so each job has one
 * effect. The worker runs after a local commit that enqueued, and polls
 * (POLL_MS) for jobs other hosts enqueued, retries that came due, and jobs
 * whose lease ran out.
 */
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions } from '../options.js';
import { FANOUT, type FanoutJob, type MessageFanoutJob, type RecallFanoutJob } from '../queue/fanout.js';
import { enqueueJob, type PgDb, type PgTx } from './db.js';
import type { PgFanoutPart } from './parts.js';

/** How often the worker looks for jobs it was not told of. */
export const POLL_MS = 300;
/** A claimed job's lease: past it (its host gone without ending its transaction) another host may take it. */
const LEASE_MS = 30_000;
/**
 * Jobs claimed per transaction. One: a job takes its members' inbox heads in
 * one statement, in uid order, as every other write does (a send, a read
 * mark, a recall), so no two writers ever wait on each other in a circle;
 * several jobs in one transaction would take several such sets one after
 * the other, and could.
 */
const PAGE = 1;

export interface FanoutWork {
  /** Writes one job's entries (message: every member of its version but the poster, with media grants; recall: every holder). */
  message(tx: PgTx, job: MessageFanoutJob): Promise<number>;
  recall(tx: PgTx, job: RecallFanoutJob): Promise<number>;
  /** The job no longer needs its membership version. */
  release(tx: PgTx, groupId: string, version: number): Promise<void>;
  /** A job was dead-lettered (raise an alert). */
  dead(tx: PgTx, job: { id: number; topic: string }, error: string): Promise<void>;
  /** A retry was scheduled (stats). */
  retried(): void;
}

interface Claimed {
  id: number;
  payload: string;
  attempts: number;
  [k: string]: unknown;
}

export class PgFanout implements PgFanoutPart {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = true;
  private idle: Promise<void> = Promise.resolve();
  /** Test hook: called inside a job's transaction after its first entry. */
  onEntry?: (jobId: number) => Promise<void>;

  constructor(
    private readonly db: PgDb,
    private readonly hostId: string,
    private readonly work: FanoutWork,
    private readonly opts: ResolvedQueueOptions,
    private readonly log: Logger,
  ) {}

  async enqueue(tx: PgTx, groupId: string, job: FanoutJob): Promise<void> {
    await enqueueJob(tx, FANOUT, JSON.stringify(job), groupId);
    if (job.k !== 'recall') {
      // groups.ts's hold: the version stays while a job needs it.
      await tx.query('UPDATE group_versions SET pending_jobs = pending_jobs + 1 WHERE group_id = $1 AND version = $2', [job.g, job.v]);
    }
    tx.after(() => this.wake());
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    this.wake();
  }

  /** Stops taking jobs; resolves once the turn in progress ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.idle;
  }

  get busy(): boolean {
    return this.running || this.again;
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      let n = 0;
      try {
        n = await this.turn();
      } catch (err) {
        this.log.warn('fan-out turn failed', { error: (err as Error).message });
      }
      if (n > 0) this.again = true;
    } while (this.again && !this.stopped);
  }

  /** One transaction: claims up to PAGE due jobs (each the oldest pending of its group), runs them, marks them done. Returns how many ran. */
  private async turn(): Promise<number> {
    const failures: Array<{ job: Claimed; error: string }> = [];
    const ran = await this.db.tx(async (tx) => {
      failures.length = 0;
      const { rows } = await tx.query<Claimed>(
        `SELECT j.id, j.payload, j.attempts FROM jobs j
          WHERE j.topic = $1 AND j.state = 'pending' AND j.next_run_at <= $2
            AND (j.leased_until IS NULL OR j.leased_until < $2 OR j.leased_by = $3)
            AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.topic = $1 AND e.state = 'pending' AND e.key = j.key AND e.id < j.id)
          ORDER BY j.id LIMIT $4
          FOR UPDATE OF j SKIP LOCKED`,
        [FANOUT, tx.now, this.hostId, PAGE],
      );
      if (rows.length === 0) return 0;
      await tx.query('UPDATE jobs SET leased_until = $2, leased_by = $3 WHERE id = ANY($1::bigint[])', [
        rows.map((r) => r.id),
        tx.now + LEASE_MS,
        this.hostId,
      ]);
      let done = 0;
      for (const job of rows) {
        await tx.query('SAVEPOINT job');
        try {
          await this.run(tx, job);
          await tx.query('RELEASE SAVEPOINT job');
          done++;
        } catch (err) {
          if ((err as { code?: string }).code && /^(08|57|40)/.test((err as { code: string }).code)) throw err;
          await tx.query('ROLLBACK TO SAVEPOINT job');
          failures.push({ job, error: err instanceof Error ? err.message : String(err) });
          await this.fail(tx, job, failures[failures.length - 1]!.error);
        }
      }
      return done + failures.length;
    });
    for (const f of failures) this.log.warn('fan-out job failed', { jobId: f.job.id, attempts: f.job.attempts + 1, error: f.error });
    return ran;
  }

  private async run(tx: PgTx, job: Claimed): Promise<void> {
    const p = JSON.parse(job.payload) as FanoutJob;
    if (p.k === 'recall') await this.work.recall(tx, p);
    else {
      await this.work.message(tx, p);
      await this.work.release(tx, p.g, p.v);
    }
    if (this.onEntry) await this.onEntry(job.id);
    await tx.query(`UPDATE jobs SET state = 'done', updated_at = $2, leased_until = NULL, leased_by = NULL WHERE id = $1`, [
      job.id,
      tx.now,
    ]);
  }

  /** A failed try: a retry with backoff (JobQueue's), or a dead letter after the last attempt. */
  private async fail(tx: PgTx, job: Claimed, error: string): Promise<void> {
    const attempts = job.attempts + 1;
    const message = error.slice(0, 1000);
    if (attempts >= this.opts.maxAttempts) {
      await tx.query(
        `UPDATE jobs SET state = 'dead', attempts = $2, last_error = $3, updated_at = $4, leased_until = NULL, leased_by = NULL WHERE id = $1`,
        [job.id, attempts, message, tx.now],
      );
      this.log.error('fan-out job dead-lettered', { jobId: job.id, attempts, error });
      await this.work.dead(tx, { id: job.id, topic: FANOUT }, error);
      try {
        const p = JSON.parse(job.payload) as FanoutJob;
        if (p.k !== 'recall') await this.work.release(tx, p.g, p.v);
      } catch {
        // An unreadable payload holds no version.
      }
      return;
    }
    const exp = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.min(attempts - 1, 30));
    const nextRunAt = tx.now + Math.round(Math.min(this.opts.backoffMaxMs, exp * (0.75 + Math.random() * 0.5)));
    await tx.query(
      `UPDATE jobs SET attempts = $2, next_run_at = $3, last_error = $4, updated_at = $5, leased_until = NULL, leased_by = NULL WHERE id = $1`,
      [job.id, attempts, nextRunAt, message, tx.now],
    );
    tx.after(() => this.work.retried());
  }
}
