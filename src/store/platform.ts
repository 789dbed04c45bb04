/**
 * The store's side of the CGI platform (SPEC §8): ctx.kv and ctx.queue for
 * the workers (each call carries the owner of the port it came on: its kv
 * space), the consumer topics' dispatch, schedule leases, and what the admin
 * API asks about topics and dead letters.
 */
import type { Db } from './db.js';
import type { Batch, GroupCommit, Tx } from './group-commit.js';
import type { ResolvedQueueOptions } from './options.js';
import type { Logger } from '../log.js';
import type { PlatformEngine } from './engine.js';
import { invalid } from './validate.js';
import { checkMessage, Kv } from './kv.js';
import { jobIdOf, jobRowOf } from './queue/jobs.js';
import { CgiError } from '../errors.js';
import {
  MAX_LIST_LIMIT,
  RESERVED_TOPICS,
  type AtomicWrite,
  type CommitResult,
  type KvEntry,
  type KvListArgs,
  type PortOwner,
  type QueueMessage,
} from './platform-api.js';
import type { DeadJobRow, JobQueue } from './queue/jobs.js';
import { ConsumerDispatch, type Subscriber, type TopicCounts } from './queue/consumers.js';
import { ScheduleLeases, type ScheduleRun } from './schedule-leases.js';

/** How often expired kv keys are deleted, and how many at most each time. */
const SWEEP_EVERY_MS = 30_000;
const SWEEP_LIMIT = 5_000;

export interface DeadLetter {
  jobId: string;
  topic: string;
  key?: string;
  payload: string;
  attempts: number;
  error: string | null;
  createdAt: number;
  diedAt: number;
}

/** What the admin API asks the store (through the main thread's control port). */
export interface PlatformAdminApi {
  queueTopics(): Record<string, TopicCounts>;
  deadLetters(a: { topic?: string; limit?: number; before?: string }): { deadLetters: DeadLetter[]; next?: string };
  retryDead(a: { jobId: string }): { jobId: string; topic: string };
  leaseSchedule(a: { name: string; fireAt: number; holder: string }): { granted: boolean };
  scheduleFinished(a: { name: string; fireAt: number; ok: boolean; error?: string }): void;
  scheduleRuns(): ScheduleRun[];
}

export type PlatformAdminOp = keyof PlatformAdminApi;

export class Platform implements PlatformEngine {
  readonly kv: Kv;
  readonly dispatch: ConsumerDispatch;
  private readonly leases: ScheduleLeases;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    db: Db,
    private readonly commit: GroupCommit,
    private readonly jobs: JobQueue,
    opts: ResolvedQueueOptions,
    private readonly log: Logger,
  ) {
    this.kv = new Kv(db);
    this.dispatch = new ConsumerDispatch(jobs, commit, opts, log);
    this.leases = new ScheduleLeases(db);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  // ctx.kv and ctx.queue

  async kvGet(a: { keys: Uint8Array[] }, owner: PortOwner): Promise<Array<KvEntry | null>> {
    return this.kv.get(space(owner), a, Date.now());
  }

  async kvList(a: KvListArgs, owner: PortOwner): Promise<KvEntry[]> {
    return this.kv.list(space(owner), a, Date.now());
  }

  kvCommit(a: AtomicWrite, owner: PortOwner): Promise<CommitResult> {
    const s = space(owner);
    return this.commit.write((tx) => this.kv.commit(tx, s, a, (t, m) => this.enqueue(t, m)));
  }

  // consumers

  subscribe(sub: Subscriber): void {
    this.dispatch.subscribe(sub);
  }

  committed(b: Batch): void {
    this.dispatch.wakeAll(b.topics);
  }

  // admin

  async queueTopics(): Promise<Record<string, TopicCounts>> {
    return this.dispatch.counts();
  }

  async deadLetters(a: { topic?: string; limit?: number; before?: string }) {
    const limit = a.limit === undefined ? 100 : a.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) invalid(`limit must be 1 to ${MAX_LIST_LIMIT}`);
    const before = a.before === undefined ? Number.MAX_SAFE_INTEGER : jobRowOf(a.before);
    if (before === null) invalid('before must be a jobId');
    const rows = this.jobs.deadLetters(a.topic ?? '', limit + 1, before);
    return deadLetterPage(rows, limit);
  }

  async retryDead(a: { jobId: string }) {
    const id = typeof a.jobId === 'string' ? jobRowOf(a.jobId) : null;
    const dead = id === null ? undefined : this.jobs.deadJob(id);
    if (!dead) throw new CgiError('NO_SUCH_JOB', `no dead letter ${String(a.jobId).slice(0, 40)}`);
    if (RESERVED_TOPICS.has(dead.topic)) invalid(`dead letters of the host's own topic "${dead.topic}" cannot be retried`);
    const topic = await this.commit.write((tx) => this.jobs.retryDead(tx, dead.id));
    if (topic === null) throw new CgiError('NO_SUCH_JOB', `${a.jobId} is no longer a dead letter`);
    // An old job: behind where the topic's sweep has got to.
    this.dispatch.wake(topic, true);
    return { jobId: a.jobId, topic };
  }

  async leaseSchedule(a: { name: string; fireAt: number; holder: string }) {
    return this.commit.write((tx) => ({ granted: this.leases.take(tx, a.name, a.fireAt, a.holder) }));
  }

  async scheduleFinished(a: { name: string; fireAt: number; ok: boolean; error?: string }) {
    await this.commit.write((tx) => this.leases.finish(tx, a.name, a.fireAt, a.ok, a.error));
  }

  async scheduleRuns() {
    return this.leases.all();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.dispatch.stop();
  }

  get busy(): boolean {
    return this.dispatch.busy;
  }

  private enqueue(tx: Tx, m: QueueMessage): number {
    checkMessage(m);
    return this.jobs.enqueue(tx, m.topic, m.payload, m.key ?? '', tx.now + (m.delayMs ?? 0));
  }

  private sweep(): void {
    this.commit
      .write(() => this.kv.sweep(Date.now(), SWEEP_LIMIT))
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

/** A page of the admin API's dead letters from `limit + 1` rows (the extra one says there is a next page); both engines answer it. */
export function deadLetterPage(rows: DeadJobRow[], limit: number): { deadLetters: DeadLetter[]; next?: string } {
  const deadLetters: DeadLetter[] = rows.slice(0, limit).map((r) => ({
    jobId: jobIdOf(r.id),
    topic: r.topic,
    ...(r.key ? { key: r.key } : {}),
    payload: r.payload,
    attempts: r.attempts,
    error: r.last_error,
    createdAt: r.created_at,
    diedAt: r.updated_at,
  }));
  return rows.length > limit ? { deadLetters, next: deadLetters.at(-1)!.jobId } : { deadLetters };
}
