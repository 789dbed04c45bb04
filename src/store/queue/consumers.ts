/**
 * Consumer topics (SPEC §8 ctx.queue): the store thread hands due jobs to the
 * consumer workers subscribed to their topic, straight down each worker's own
 * port (no hop through the main thread), at most `concurrency` at a time per
 * worker, and records each outcome through group commit: a done job is
 * deleted, a failed one retried with backoff or dead-lettered after
 * `maxAttempts`. Jobs with the same key run one at a time, in the order they
 * were sent (see JobQueue.claimable).
 *
 * Delivery is at least once. A job handed out stays pending in the table
 * until its outcome commits: if the host dies first, the job runs again
 * after the restart. A worker that dies fails what it held (each counts as a
 * try); one that was draining (a hot reload) gives its jobs back untried.
 */
import type { GroupCommit } from '../group-commit.js';
import type { ResolvedQueueOptions } from '../options.js';
import type { Logger } from '../../log.js';
import { DueTimer } from './due-timer.js';
import { jobIdOf, type JobQueue, type JobRow } from './jobs.js';

/** What the store sends a consumer worker. */
export type ToConsumer =
  | { t: 'job'; id: number; jobId: string; topic: string; key?: string; payload: string; attempt: number; enqueuedAt: number }
  /** The job ran past its timeout: it was counted as failed; abort its ctx.signal. */
  | { t: 'job-abort'; id: number };

export interface Subscription {
  topic: string;
  /** Jobs this worker runs at once. */
  concurrency: number;
  maxAttempts: number;
  timeoutMs: number;
}

export interface Subscriber extends Subscription {
  /** The consumer's name (for logs and stats). */
  readonly unit: string;
  send(m: ToConsumer): void;
  running: number;
  draining: boolean;
}

export interface Flight {
  job: JobRow;
  sub: Subscriber;
  deadline: number;
  /** The worker answered (or the job timed out): its outcome is being written. */
  settled: boolean;
}

interface Outcome {
  flight: Flight;
  error: string | null;
  /** A failure that no retry can mend (the payload does not match the consumer's input): dead at once. */
  permanent: boolean;
}

/** Per topic, counted since the store opened. */
export interface TopicCounts {
  consumers: string[];
  inflight: number;
  done: number;
  failed: number;
}

class Topic {
  readonly subs: Subscriber[] = [];
  readonly flights = new Map<number, Flight>();
  scheduled = false;
  /**
   * Where the last sweep of due jobs stopped (due time, id): the next one
   * continues after it, so the jobs handed out and not yet written off are
   * not read again at each turn (at 20,000 jobs/s thousands wait for their
   * outcome's commit). Null: sweep from the start, reading past those jobs —
   * after anything that can make a job behind the cursor runnable (a key's
   * job ended, jobs given back, a due timer, a dead letter retried).
   */
  cursor: { at: number; id: number } | null = null;
  done = 0;
  failed = 0;
  constructor(readonly timer: DueTimer) {}
}

/** After a lost transaction (disk full, I/O error), wait this long before handing out more. */
const LOST_RETRY_MS = 1_000;

export class ConsumerDispatch {
  private readonly topics = new Map<string, Topic>();
  private outcomes: Outcome[] = [];
  private writing = false;
  private stopped = false;
  private readonly deadlines = new FlightDeadlines(
    () => this.flights(),
    (f, error) => this.settle(f, error, false),
  );

  constructor(
    private readonly jobs: JobQueue,
    private readonly commit: GroupCommit,
    private readonly opts: ResolvedQueueOptions,
    private readonly log: Logger,
  ) {}

  subscribe(sub: Subscriber): void {
    const t = this.topic(sub.topic);
    t.subs.push(sub);
    this.wake(sub.topic);
  }

  /** The worker is being retired: nothing new for it; what it holds it still finishes. */
  unsubscribe(sub: Subscriber): void {
    sub.draining = true;
  }

  /** The worker's port closed (it ended): what it still held fails, or goes back untried if it was draining. */
  closed(sub: Subscriber): void {
    const t = this.topics.get(sub.topic);
    if (!t) return;
    const i = t.subs.indexOf(sub);
    if (i >= 0) t.subs.splice(i, 1);
    for (const f of t.flights.values()) {
      if (f.sub !== sub || f.settled) continue;
      if (sub.draining) {
        // Given back untried: it is behind the sweep's cursor.
        t.flights.delete(f.job.id);
        t.cursor = null;
      } else {
        this.settle(f, `the consumer's worker ended while running the job`, false);
      }
    }
    this.wake(sub.topic);
  }

  /**
   * The worker's answer for try `attempt` of a job. An answer for an earlier
   * try (one that timed out, answering after the job went out again, maybe to
   * the same worker) is not this try's and is dropped.
   */
  answered(sub: Subscriber, id: number, attempt: number, error: string | null, permanent = false): void {
    const f = this.topics.get(sub.topic)?.flights.get(id);
    if (!f || f.sub !== sub || f.settled || f.job.attempts + 1 !== attempt) return;
    this.settle(f, error, permanent);
  }

  /** Jobs of these topics were committed: hand them out soon (`rescan`: from the start of the due jobs). */
  wake(topic: string, rescan = false): void {
    const t = this.topics.get(topic);
    if (t && rescan) t.cursor = null;
    if (!t || t.scheduled || this.stopped || t.subs.length === 0) return;
    t.scheduled = true;
    setImmediate(() => this.pump(topic, t));
  }

  wakeAll(topics: Iterable<string>): void {
    for (const topic of topics) this.wake(topic);
  }

  /** The store is closing: outcomes not yet written are queued now, so the close commits them. */
  stop(): void {
    this.stopped = true;
    for (const t of this.topics.values()) t.timer.cancel();
    this.deadlines.stop();
    this.writing = false;
    this.flushOutcomes();
  }

  /** Whether work is in hand (for idle checks). */
  get busy(): boolean {
    if (this.outcomes.length > 0 || this.writing) return true;
    for (const t of this.topics.values()) if (t.scheduled || t.flights.size > 0) return true;
    return false;
  }

  counts(): Record<string, TopicCounts> {
    const out: Record<string, TopicCounts> = {};
    for (const [name, t] of this.topics) {
      out[name] = { consumers: [...new Set(t.subs.map((s) => s.unit))], inflight: t.flights.size, done: t.done, failed: t.failed };
    }
    return out;
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = new Topic(new DueTimer(() => this.wake(name, true)))));
    return t;
  }

  private pump(name: string, t: Topic): void {
    t.scheduled = false;
    if (this.stopped) return;
    let free = 0;
    for (const s of t.subs) if (!s.draining) free += Math.max(0, s.concurrency - s.running);
    if (free === 0) return;
    const now = Date.now();
    // Jobs handed out are still pending in the table until their outcome commits: read past them.
    const rows = t.cursor
      ? this.jobs.claimableAfter(name, now, t.cursor.at, t.cursor.id, free)
      : this.jobs.claimable(name, now, free + t.flights.size);
    for (const job of rows) {
      t.cursor = { at: job.next_run_at, id: job.id };
      if (t.flights.has(job.id)) continue;
      const sub = leastBusy(t.subs);
      if (!sub) break;
      const f: Flight = { job, sub, deadline: now + sub.timeoutMs, settled: false };
      t.flights.set(job.id, f);
      sub.running++;
      sub.send(jobMessage(name, job));
      if (--free === 0) break;
    }
    this.deadlines.arm();
    // Capacity left: the next job is not due yet (a delay, a backoff) or there is none.
    if (free > 0) {
      const next = this.jobs.nextDueIn(name, now);
      if (next !== null) t.timer.schedule(next);
    }
  }

  private settle(f: Flight, error: string | null, permanent: boolean): void {
    f.settled = true;
    f.sub.running--;
    this.outcomes.push({ flight: f, error, permanent });
    this.flushOutcomes();
    // The worker has room again; the settled job is skipped until its outcome is written.
    this.wake(f.job.topic);
  }

  /** Writes the outcomes gathered so far in one write (one per batch of answers), one write at a time. */
  private flushOutcomes(): void {
    if (this.writing || this.outcomes.length === 0) return;
    this.writing = true;
    const batch = this.outcomes;
    this.outcomes = [];
    const write = this.commit.write((tx) => {
      const results: Array<{ dead: boolean; nextRunAt: number } | null> = [];
      for (const o of batch) {
        const { job, sub } = o.flight;
        if (o.error === null) {
          this.jobs.remove(job.id);
          results.push(null);
        } else {
          results.push(this.jobs.fail(tx, job, o.error, o.permanent ? job.attempts + 1 : sub.maxAttempts));
        }
      }
      return results;
    });
    write.then(
      (results) => {
        batch.forEach((o, i) => {
          const { job, sub } = o.flight;
          const t = this.topics.get(job.topic);
          t?.flights.delete(job.id);
          const r = results[i];
          if (!r) {
            if (t) t.done++;
            return;
          }
          if (t) t.failed++;
          const fields = { topic: job.topic, consumer: sub.unit, jobId: jobIdOf(job.id), attempt: job.attempts + 1, error: o.error };
          if (r.dead) this.log.error('consumer job dead-lettered', fields);
          else {
            this.log.warn('consumer job failed, will retry', { ...fields, retryInMs: r.nextRunAt - Date.now() });
            t?.timer.schedule(r.nextRunAt);
          }
        });
        this.afterWrite(batch);
      },
      (err: unknown) => {
        // Nothing was written: the jobs are still pending as they were, and are handed out again.
        this.log.error('consumer job outcomes not recorded; the jobs will run again', { jobs: batch.length, error: String(err) });
        for (const o of batch) this.topics.get(o.flight.job.topic)?.flights.delete(o.flight.job.id);
        setTimeout(() => this.afterWrite(batch, true), LOST_RETRY_MS).unref();
      },
    );
  }

  private afterWrite(batch: Outcome[], lost = false): void {
    this.writing = false;
    const rescan = new Set<string>();
    for (const o of batch) {
      // The next job of an ended job's key may run now, and it sits behind the cursor; so do jobs whose outcome was lost.
      if (lost || o.flight.job.key !== '') rescan.add(o.flight.job.topic);
    }
    for (const topic of new Set(batch.map((o) => o.flight.job.topic))) this.wake(topic, rescan.has(topic));
    this.flushOutcomes();
  }

  private *flights(): Iterable<Flight> {
    for (const t of this.topics.values()) yield* t.flights.values();
  }
}

/** The worker with the most room (none draining), if any has room. */
export function leastBusy(subs: Subscriber[]): Subscriber | undefined {
  let best: Subscriber | undefined;
  let room = 0;
  for (const s of subs) {
    const r = s.concurrency - s.running;
    if (!s.draining && r > room) {
      best = s;
      room = r;
    }
  }
  return best;
}

/** What a worker is sent to run a job of `topic` (its next try). */
export function jobMessage(topic: string, job: JobRow): ToConsumer {
  return {
    t: 'job',
    id: job.id,
    jobId: jobIdOf(job.id),
    topic,
    key: job.key === '' ? undefined : job.key,
    payload: job.payload,
    attempt: job.attempts + 1,
    enqueuedAt: job.created_at,
  };
}

/**
 * One timer for the earliest deadline of every job in flight: a job past it
 * has its worker told to abort, and is failed (`expired`). `arm` after jobs
 * go out; `stop` for good.
 */
export class FlightDeadlines {
  private timer: NodeJS.Timeout | null = null;
  private at = Infinity;
  private stopped = false;

  constructor(
    private readonly flights: () => Iterable<Flight>,
    private readonly expired: (f: Flight, error: string) => void,
  ) {}

  arm(): void {
    if (this.stopped) return;
    let earliest = Infinity;
    for (const f of this.flights()) if (!f.settled && f.deadline < earliest) earliest = f.deadline;
    if (earliest === Infinity || earliest >= this.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.at = earliest;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.at = Infinity;
        const now = Date.now();
        for (const f of [...this.flights()]) {
          if (f.settled || f.deadline > now) continue;
          f.sub.send({ t: 'job-abort', id: f.job.id });
          this.expired(f, `timed out after ${f.sub.timeoutMs} ms`);
        }
        this.arm();
      },
      Math.max(10, earliest - Date.now()),
    );
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
