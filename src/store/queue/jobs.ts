/**
 * The durable job queue, in the store's database. A job is inserted in the same
 * transaction as the data that causes it (transactional outbox), and a consumer
 * marks it done in the same transaction as the work it did, so a crash at any
 * point neither loses nor repeats the work of a transactional consumer.
 * Delivery is at least once; a failed job is retried with exponential backoff
 * and dead-lettered after `maxAttempts` tries.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { Tx } from '../group-commit.js';
import type { ResolvedQueueOptions } from '../options.js';
import type { JobTable } from '../engine.js';

export interface JobRow {
  id: number;
  topic: string;
  key: string;
  payload: string;
  attempts: number;
  next_run_at: number;
  created_at: number;
}

/** A dead-lettered job, as the admin API lists it. */
export interface DeadJobRow extends JobRow {
  last_error: string | null;
  updated_at: number;
}

export interface QueueStats {
  depth: Record<string, number>;
  lagSeconds: Record<string, number>;
  retries: Record<string, number>;
  deadLetters: Record<string, number>;
}

export const TOPICS = ['fanout', 'webhook'] as const;
const JOB_COLUMNS = 'id, topic, key, payload, attempts, next_run_at, created_at';
const PRUNE_EVERY_MS = 10_000;

export class JobQueue implements JobTable {
  /** Retries scheduled since the store opened, per topic. */
  private readonly retries = new Map<string, number>();
  private lastPrune = 0;
  private readonly insert: Statement<[number, string, string, string, number, number, number]>;
  private readonly saveLastId: Statement<[number]>;
  /**
   * Job ids never repeat: consumer jobs are deleted once done, and SQLite would
   * hand the highest deleted rowid out again. The last id given is kept in
   * `counters`, in the transaction of the insert.
   */
  private lastId: number;
  private readonly inOrder: Statement<[string, number, number], JobRow>;
  private readonly dueByKey: Statement<[string, string, number, number], JobRow>;
  private readonly nextDueOf: Statement<[string, string, number], number | null>;
  private readonly markDone: Statement<[number, number]>;
  private readonly markRetry: Statement<[number, number, string, number, number]>;
  private readonly markDead: Statement<[number, string, number, number]>;
  private readonly prune: Statement<[number]>;
  private readonly depth: Statement<[], { topic: string; n: number }>;
  private readonly oldest: Statement<[string], number>;
  private readonly dead: Statement<[], { topic: string; n: number }>;
  private readonly claimableStmt: Statement<[string, number, number], JobRow>;
  private readonly claimableAfterStmt: Statement<[string, number, number, number, number, number], JobRow>;
  private readonly nextDueInTopic: Statement<[string, number], number | null>;
  private readonly deleteJob: Statement<[number]>;
  private readonly deadList: Statement<[string, string, number, number], DeadJobRow>;
  private readonly revive: Statement<[number, number, number], { topic: string }>;
  private readonly oldestDue: Statement<[string, number], number | null>;
  private readonly deadById: Statement<[number], DeadJobRow>;

  constructor(
    db: Db,
    private readonly opts: ResolvedQueueOptions,
  ) {
    this.insert = db.prepare(
      'INSERT INTO jobs (id, topic, key, payload, next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.saveLastId = db.prepare(
      `INSERT INTO counters (name, value) VALUES ('jobs.id', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    );
    const saved = db.prepare<[], number>(`SELECT value FROM counters WHERE name = 'jobs.id'`).pluck().get() ?? 0;
    this.lastId = Math.max(saved, db.prepare<[], number | null>('SELECT MAX(id) FROM jobs').pluck().get() ?? 0);
    this.inOrder = db.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE topic = ? AND state = 'pending' AND next_run_at <= ? ORDER BY id LIMIT ?`,
    );
    this.dueByKey = db.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs
        WHERE topic = ? AND key = ? AND state = 'pending' AND next_run_at <= ? ORDER BY next_run_at, id LIMIT ?`,
    );
    this.nextDueOf = db
      .prepare<[string, string, number], number | null>(
        `SELECT MIN(next_run_at) FROM jobs WHERE topic = ? AND key = ? AND state = 'pending' AND next_run_at > ?`,
      )
      .pluck();
    this.markDone = db.prepare(`UPDATE jobs SET state = 'done', attempts = attempts + 1, updated_at = ? WHERE id = ?`);
    this.markRetry = db.prepare(`UPDATE jobs SET attempts = ?, next_run_at = ?, last_error = ?, updated_at = ? WHERE id = ?`);
    this.markDead = db.prepare(`UPDATE jobs SET state = 'dead', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?`);
    this.prune = db.prepare(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' AND updated_at < ? LIMIT 10000)`);
    this.depth = db.prepare(`SELECT topic, COUNT(*) AS n FROM jobs WHERE state = 'pending' GROUP BY topic`);
    this.oldest = db
      .prepare<[string], number>(`SELECT created_at FROM jobs WHERE topic = ? AND state = 'pending' ORDER BY id LIMIT 1`)
      .pluck();
    this.dead = db.prepare(`SELECT topic, COUNT(*) AS n FROM jobs WHERE state = 'dead' GROUP BY topic`);
    // A consumer topic's due jobs in due order; of the jobs sharing a key, only the oldest pending one (keys run in order).
    this.claimableStmt = db.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs j
        WHERE j.topic = ? AND j.state = 'pending' AND j.next_run_at <= ?
          AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.topic = j.topic AND o.key = j.key AND o.key != '' AND o.state = 'pending' AND o.id < j.id))
        ORDER BY j.next_run_at, j.id LIMIT ?`,
    );
    // The same, continuing after the last job a sweep reached (in due order), so jobs handed out are not read again.
    this.claimableAfterStmt = db.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs j
        WHERE j.topic = ? AND j.state = 'pending' AND j.next_run_at <= ?
          AND (j.next_run_at > ? OR (j.next_run_at = ? AND j.id > ?))
          AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.topic = j.topic AND o.key = j.key AND o.key != '' AND o.state = 'pending' AND o.id < j.id))
        ORDER BY j.next_run_at, j.id LIMIT ?`,
    );
    this.nextDueInTopic = db
      .prepare<[string, number], number | null>(
        `SELECT MIN(next_run_at) FROM jobs WHERE topic = ? AND state = 'pending' AND next_run_at > ?`,
      )
      .pluck();
    this.deleteJob = db.prepare('DELETE FROM jobs WHERE id = ?');
    this.deadList = db.prepare(
      `SELECT ${JOB_COLUMNS}, last_error, updated_at FROM jobs
        WHERE state = 'dead' AND (? = '' OR topic = ?) AND id < ? ORDER BY id DESC LIMIT ?`,
    );
    this.revive = db.prepare(
      `UPDATE jobs SET state = 'pending', attempts = 0, next_run_at = ?, updated_at = ? WHERE id = ? AND state = 'dead' RETURNING topic`,
    );
    this.deadById = db.prepare(`SELECT ${JOB_COLUMNS}, last_error, updated_at FROM jobs WHERE id = ? AND state = 'dead'`);
    this.oldestDue = db
      .prepare<[string, number], number | null>(
        `SELECT MIN(next_run_at) FROM jobs WHERE topic = ? AND state = 'pending' AND next_run_at <= ?`,
      )
      .pluck();
  }

  /** Adds a job inside the caller's transaction (due at `runAt`, default now); consumers hear of it after the commit. */
  enqueue(tx: Tx, topic: string, payload: string, key = '', runAt = tx.now): number {
    const id = ++this.lastId;
    this.insert.run(id, topic, key, payload, runAt, tx.now, tx.now);
    // Once per transaction, with the highest id it used.
    tx.beforeCommit('jobs.id', () => this.saveLastId.run(this.lastId));
    tx.jobAdded(topic);
    return id;
  }

  /** Due jobs of a topic in the order they were made. */
  due(topic: string, now: number, limit: number): JobRow[] {
    return this.inOrder.all(topic, now, limit);
  }

  dueForKey(topic: string, key: string, now: number, limit: number): JobRow[] {
    return this.dueByKey.all(topic, key, now, limit);
  }

  /** The earliest retry time after `now` of a partition, or null. */
  nextDue(topic: string, key: string, now: number): number | null {
    return this.nextDueOf.get(topic, key, now) ?? null;
  }

  done(id: number, now: number): void {
    this.markDone.run(now, id);
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.prune.run(now - this.opts.doneRetentionMs);
    }
  }

  /** Retries committed (counted after the commit, so a rolled-back try counts nothing). */
  countRetries(retries: ReadonlyMap<string, number>): void {
    for (const [topic, n] of retries) this.retries.set(topic, (this.retries.get(topic) ?? 0) + n);
  }

  /** Due jobs of a consumer topic that may start now (see `claimable` above), oldest due first. */
  claimable(topic: string, now: number, limit: number): JobRow[] {
    return this.claimableStmt.all(topic, now, limit);
  }

  /** claimable(), after the job at (`at`, `id`) in due order. */
  claimableAfter(topic: string, now: number, at: number, id: number, limit: number): JobRow[] {
    return this.claimableAfterStmt.all(topic, now, at, at, id, limit);
  }

  /** The earliest due time after `now` of any job of the topic, or null. */
  nextDueIn(topic: string, now: number): number | null {
    return this.nextDueInTopic.get(topic, now) ?? null;
  }

  /** A consumer job is done: it is deleted (consumer topics keep no done jobs). */
  remove(id: number): void {
    this.deleteJob.run(id);
  }

  /** Dead letters, newest first; `topic` '' for every topic; `beforeId` pages. */
  deadLetters(topic: string, limit: number, beforeId = Number.MAX_SAFE_INTEGER): DeadJobRow[] {
    return this.deadList.all(topic, topic, beforeId, limit);
  }

  deadJob(id: number): DeadJobRow | undefined {
    return this.deadById.get(id);
  }

  /** A dead letter goes back to pending with its attempts reset; returns its topic, or null when it is not dead. */
  retryDead(tx: Tx, id: number): string | null {
    const row = this.revive.get(tx.now, tx.now, id);
    if (!row) return null;
    tx.jobAdded(row.topic);
    return row.topic;
  }

  /**
   * Records a failed try: schedules a retry with backoff, or dead-letters the
   * job after its last attempt (`maxAttempts`: the consumer's, else the queue's).
   */
  fail(tx: Tx, job: JobRow, error: string, maxAttempts = this.opts.maxAttempts): { dead: boolean; nextRunAt: number } {
    const now = tx.now;
    const attempts = job.attempts + 1;
    const message = error.slice(0, 1000);
    if (attempts >= maxAttempts) {
      this.markDead.run(attempts, message, now, job.id);
      return { dead: true, nextRunAt: 0 };
    }
    const nextRunAt = now + this.backoff(attempts);
    this.markRetry.run(attempts, nextRunAt, message, now, job.id);
    tx.countRetry(job.topic);
    return { dead: false, nextRunAt };
  }

  /** base * 2^(n-1), capped, with ±25% jitter so that retries of many jobs spread out. */
  backoff(attempts: number): number {
    return backoffMs(this.opts, attempts);
  }

  stats(now = Date.now()): QueueStats {
    const s: QueueStats = { depth: {}, lagSeconds: {}, retries: {}, deadLetters: {} };
    for (const t of TOPICS) {
      s.depth[t] = 0;
      s.lagSeconds[t] = 0;
      s.deadLetters[t] = 0;
    }
    for (const { topic, n } of this.depth.all()) {
      s.depth[topic] = n;
      // The host's topics: age of the oldest job not done. Consumer topics: how long the most overdue job has
      // been due (a delayed job counts from its due time; one waiting for its retry is not late yet).
      const since = (TOPICS as readonly string[]).includes(topic) ? this.oldest.get(topic) : this.oldestDue.get(topic, now);
      s.lagSeconds[topic] = since === undefined || since === null ? 0 : Math.max(0, (now - since) / 1000);
    }
    for (const { topic, n } of this.dead.all()) s.deadLetters[topic] = n;
    for (const t of new Set([...Object.keys(s.depth), ...Object.keys(s.deadLetters), ...this.retries.keys()])) {
      s.depth[t] ??= 0;
      s.lagSeconds[t] ??= 0;
      s.deadLetters[t] ??= 0;
      s.retries[t] = this.retries.get(t) ?? 0;
    }
    return s;
  }
}

/** The wait before try `attempts + 1`: base * 2^(n-1), capped, with ±25% jitter (every engine's retries). */
export function backoffMs(opts: Pick<ResolvedQueueOptions, 'backoffBaseMs' | 'backoffMaxMs'>, attempts: number): number {
  const exp = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(Math.min(opts.backoffMaxMs, exp * (0.75 + Math.random() * 0.5)));
}

/** A job's id as the API shows it: `j` and its row number in base 36. */
export function jobIdOf(rowId: number): string {
  return 'j' + rowId.toString(36);
}

/** A job id from the admin API back to its row, or null. */
export function jobRowOf(jobId: string): number | null {
  if (!/^j[0-9a-z]{1,11}$/.test(jobId)) return null;
  const n = parseInt(jobId.slice(1), 36);
  return Number.isSafeInteger(n) ? n : null;
}
