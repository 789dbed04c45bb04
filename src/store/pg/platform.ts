/**
 * The store's side of the CGI platform on PostgreSQL (SPEC §8, §9): what the
 * SQLite Platform (../platform.ts) answers — ctx.kv, ctx.queue's sends, the
 * admin API's topics and dead letters, schedule leases — and the consumer
 * topics' dispatch that the store thread drives (`subscribe`, `dispatch`),
 * shared by every host on the database.
 */
import { CgiError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { PlatformEngine } from '../engine.js';
import { checkMessage } from '../kv.js';
import type { ResolvedQueueOptions } from '../options.js';
import { deadLetterPage } from '../platform.js';
import {
  MAX_LIST_LIMIT,
  RESERVED_TOPICS,
  type AtomicWrite,
  type CommitResult,
  type KvEntry,
  type KvListArgs,
  type PortOwner,
  type QueueMessage,
} from '../platform-api.js';
import { jobIdOf, jobRowOf, type DeadJobRow } from '../queue/jobs.js';
import type { Subscriber, TopicCounts } from '../queue/consumers.js';
import type { ScheduleRun } from '../schedule-leases.js';
import { invalid, requireString } from '../validate.js';
import { PgConsumerDispatch } from './consumers.js';
import { enqueueJob, type PgDb, type PgTx } from './db.js';
import { DEFAULT_LEASE_MS, DEFAULT_POLL_MS, JOB_COLUMNS, type JobLeaseOptions, type PgQueueHostOptions } from './job-leases.js';
import { PgKv } from './kv.js';

/** How often expired kv keys are deleted, and how many at most each time (as SQLite). */
const SWEEP_EVERY_MS = 30_000;
const SWEEP_LIMIT = 5_000;

export type PgPlatformOptions = PgQueueHostOptions;

export class PgPlatform implements PlatformEngine {
  readonly dispatch: PgConsumerDispatch;
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    private readonly db: PgDb,
    readonly kv: PgKv,
    opts: ResolvedQueueOptions,
    lease: JobLeaseOptions,
    pollMs: number,
    private readonly log: Logger,
  ) {
    this.dispatch = new PgConsumerDispatch(db, opts, lease, pollMs, log);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  static async open(db: PgDb, queue: ResolvedQueueOptions, opts: PgPlatformOptions, log: Logger): Promise<PgPlatform> {
    const kv = await PgKv.open(db);
    const lease = { hostId: opts.hostId, leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS };
    return new PgPlatform(db, kv, queue, lease, opts.pollMs ?? DEFAULT_POLL_MS, log);
  }

  // ctx.kv and ctx.queue

  async kvGet(a: { keys: Uint8Array[] }, owner: PortOwner): Promise<Array<KvEntry | null>> {
    return this.kv.get(space(owner), a, Date.now());
  }

  async kvList(a: KvListArgs, owner: PortOwner): Promise<KvEntry[]> {
    return this.kv.list(space(owner), a, Date.now());
  }

  async kvCommit(a: AtomicWrite, owner: PortOwner): Promise<CommitResult> {
    const s = space(owner);
    const r = await this.db.tx(async (tx) => {
      const out = await this.kv.commit(tx, s, a, (t, m) => this.enqueue(t, m));
      if (out.ok && a.enqueues.length > 0) tx.after(() => this.committedTopics(a.enqueues.map((m) => m.topic)));
      return out;
    });
    return r.ok ? { ok: true, version: r.version, jobIds: r.jobIds.map(jobIdOf) } : r;
  }

  // consumers

  subscribe(sub: Subscriber): void {
    this.dispatch.subscribe(sub);
  }

  /** Jobs of these topics were committed by this host (PgStore calls it through tx.after): hand them out now. */
  committedTopics(topics: Iterable<string>): void {
    this.dispatch.wakeAll(new Set(topics));
  }

  // admin

  /** This host's consumers per topic (the depth and lag of every topic are in the jobs table). */
  async queueTopics(): Promise<Record<string, TopicCounts>> {
    return this.dispatch.counts();
  }

  async deadLetters(a: { topic?: string; limit?: number; before?: string }) {
    const limit = a.limit === undefined ? 100 : a.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) invalid(`limit must be 1 to ${MAX_LIST_LIMIT}`);
    const before = a.before === undefined ? Number.MAX_SAFE_INTEGER : jobRowOf(a.before);
    if (before === null) invalid('before must be a jobId');
    const rows = await this.db.query<DeadJobRow & Record<string, unknown>>(
      `SELECT ${JOB_COLUMNS}, last_error, updated_at FROM jobs
        WHERE state = 'dead' AND ($1 = '' OR topic = $1) AND id < $2 ORDER BY id DESC LIMIT $3`,
      [a.topic ?? '', before, limit + 1],
    );
    return deadLetterPage(rows, limit);
  }

  async retryDead(a: { jobId: string }) {
    const id = typeof a.jobId === 'string' ? jobRowOf(a.jobId) : null;
    const dead =
      id === null
        ? undefined
        : (await this.db.query<{ topic: string }>(`SELECT topic FROM jobs WHERE id = $1 AND state = 'dead'`, [id]))[0];
    if (!dead) throw new CgiError('NO_SUCH_JOB', `no dead letter ${String(a.jobId).slice(0, 40)}`);
    if (RESERVED_TOPICS.has(dead.topic)) invalid(`dead letters of the host's own topic "${dead.topic}" cannot be retried`);
    const now = Date.now();
    const revived = await this.db.query<{ topic: string }>(
      `UPDATE jobs SET state = 'pending', attempts = 0, next_run_at = $1, updated_at = $1, leased_until = NULL, leased_by = NULL
        WHERE id = $2 AND state = 'dead' RETURNING topic`,
      [now, id],
    );
    if (revived.length === 0) throw new CgiError('NO_SUCH_JOB', `${a.jobId} is no longer a dead letter`);
    const topic = revived[0]!.topic;
    this.dispatch.wake(topic);
    return { jobId: a.jobId, topic };
  }

  /**
   * Takes the lease of one firing: granted to one caller of all hosts. The
   * advisory lock keeps two hosts from racing for the row; the row's fire_at
   * decides (a firing already taken, or an older one, is refused).
   */
  async leaseSchedule(a: { name: string; fireAt: number; holder: string }) {
    requireString(a.name, 'name', 256);
    requireString(a.holder, 'holder', 256);
    if (!Number.isSafeInteger(a.fireAt)) invalid('fireAt must be a time in ms');
    return this.db.tx(async (tx) => {
      const { rows: locked } = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [a.name]);
      if (!locked[0]!.ok) return { granted: false };
      const { rows } = await tx.query(
        `INSERT INTO schedule_runs (name, fire_at, holder, started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET fire_at = EXCLUDED.fire_at, holder = EXCLUDED.holder, started_at = EXCLUDED.started_at,
           finished_at = NULL, ok = NULL, error = NULL
         WHERE schedule_runs.fire_at < EXCLUDED.fire_at RETURNING name`,
        [a.name, a.fireAt, a.holder, tx.now],
      );
      return { granted: rows.length === 1 };
    });
  }

  async scheduleFinished(a: { name: string; fireAt: number; ok: boolean; error?: string }): Promise<void> {
    await this.db.query(`UPDATE schedule_runs SET finished_at = $1, ok = $2, error = $3 WHERE name = $4 AND fire_at = $5`, [
      Date.now(),
      !!a.ok,
      a.ok ? null : (a.error ?? 'failed').slice(0, 1000),
      a.name,
      a.fireAt,
    ]);
  }

  async scheduleRuns(): Promise<ScheduleRun[]> {
    const rows = await this.db.query<{
      name: string;
      fire_at: number;
      holder: string;
      started_at: number;
      finished_at: number | null;
      ok: boolean | null;
      error: string | null;
    }>('SELECT * FROM schedule_runs ORDER BY name');
    return rows.map((r) => ({
      name: r.name,
      fireAt: r.fire_at,
      holder: r.holder,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      ok: r.ok,
      error: r.error,
    }));
  }

  /** Retries scheduled by this host's consumers since it opened, per topic. */
  retries(): ReadonlyMap<string, number> {
    return this.dispatch.retries;
  }

  /** Stops sweeping and handing out jobs; writes known outcomes and gives running jobs back to the other hosts. */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await this.dispatch.stop();
  }

  get busy(): boolean {
    return this.dispatch.busy;
  }

  private enqueue(tx: PgTx, m: QueueMessage): Promise<number> {
    checkMessage(m);
    return enqueueJob(tx, m.topic, m.payload, m.key ?? '', tx.now + (m.delayMs ?? 0));
  }

  private sweep(): void {
    this.kv
      .sweep(Date.now(), SWEEP_LIMIT)
      .then((n) => {
        // More were due than one sweep takes: go on soon.
        if (n === SWEEP_LIMIT) setTimeout(() => this.sweep(), 100).unref();
      })
      .catch((err: unknown) => this.log.warn('expired kv keys not swept', { error: String(err) }));
  }
}

function space(owner: PortOwner | undefined): string {
  if (!owner) invalid('ctx.kv is only for CGI workers');
  return owner.group;
}
