/**
 * Consumer topics on PostgreSQL (SPEC §8 ctx.queue, §9): the same protocol
 * as the SQLite ConsumerDispatch (queue/consumers.ts) towards the consumer
 * workers — Subscriber, answered, unsubscribe, closed, counts — but the jobs
 * are shared by every host subscribed to a topic. A host claims due jobs
 * with a lease (job-leases.ts) for the room its workers have, so each job
 * runs on one host at a time; jobs of one key run one at a time, in order,
 * whichever hosts take them. A done job is deleted, a failed one retried
 * with backoff or dead-lettered, in one transaction per batch of outcomes.
 *
 * Jobs enqueued by this host are handed out at once (`wake`, after their
 * commit); those of other hosts, expired leases of dead hosts, delays and
 * backoffs come with a poll every `pollMs`.
 */
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions } from '../options.js';
import { DueTimer } from '../queue/due-timer.js';
import { jobIdOf } from '../queue/jobs.js';
import { FlightDeadlines, jobMessage, leastBusy, type Flight, type Subscriber, type TopicCounts } from '../queue/consumers.js';
import type { PgDb } from './db.js';
import { claimJobs, failJob, LeaseKeeper, releaseJobs, type JobLeaseOptions } from './job-leases.js';

interface Outcome {
  flight: Flight;
  error: string | null;
  permanent: boolean;
}

class Topic {
  readonly subs: Subscriber[] = [];
  readonly flights = new Map<number, Flight>();
  /** A claim is running; `again`: woken meanwhile, claim once more after it. */
  pumping = false;
  again = false;
  done = 0;
  failed = 0;
  constructor(readonly timer: DueTimer) {}
}

/** After a lost transaction (the database unreachable), wait this long before handing out more. */
const LOST_RETRY_MS = 1_000;

export class PgConsumerDispatch {
  private readonly topics = new Map<string, Topic>();
  private outcomes: Outcome[] = [];
  private writing: Promise<void> | null = null;
  private stopped = false;
  private readonly deadlines = new FlightDeadlines(
    () => this.flights(),
    (f, error) => this.settle(f, error, false),
  );
  private readonly leases: LeaseKeeper;
  private readonly poller: NodeJS.Timeout;
  /** Retries scheduled by this host, per topic (StoreStats.queueRetries). */
  readonly retries = new Map<string, number>();

  constructor(
    private readonly db: PgDb,
    private readonly opts: ResolvedQueueOptions,
    private readonly lease: JobLeaseOptions,
    pollMs: number,
    private readonly log: Logger,
  ) {
    this.leases = new LeaseKeeper(db, lease, log);
    this.poller = setInterval(() => {
      for (const name of this.topics.keys()) this.wake(name);
    }, pollMs);
    this.poller.unref();
  }

  subscribe(sub: Subscriber): void {
    const t = this.topic(sub.topic);
    t.subs.push(sub);
    this.wake(sub.topic);
  }

  /** The worker is being retired: nothing new for it; what it holds it still finishes. */
  unsubscribe(sub: Subscriber): void {
    sub.draining = true;
  }

  /** The worker's port closed: what it still held fails, or goes back untried (to any host) if it was draining. */
  closed(sub: Subscriber): void {
    const t = this.topics.get(sub.topic);
    if (!t) return;
    const i = t.subs.indexOf(sub);
    if (i >= 0) t.subs.splice(i, 1);
    const back: number[] = [];
    for (const f of t.flights.values()) {
      if (f.sub !== sub || f.settled) continue;
      if (sub.draining) {
        t.flights.delete(f.job.id);
        this.leases.delete(f.job.id);
        back.push(f.job.id);
      } else {
        this.settle(f, `the consumer's worker ended while running the job`, false);
      }
    }
    if (back.length > 0) this.release(back);
    this.wake(sub.topic);
  }

  /** The worker's answer for try `attempt` of a job (an earlier try's late answer is dropped). */
  answered(sub: Subscriber, id: number, attempt: number, error: string | null, permanent = false): void {
    const f = this.topics.get(sub.topic)?.flights.get(id);
    if (!f || f.sub !== sub || f.settled || f.job.attempts + 1 !== attempt) return;
    this.settle(f, error, permanent);
  }

  /** Jobs of this topic may be due: claim what the workers have room for. */
  wake(topic: string): void {
    const t = this.topics.get(topic);
    if (!t || this.stopped || t.subs.length === 0) return;
    if (t.pumping) {
      t.again = true;
      return;
    }
    t.pumping = true;
    setImmediate(() => void this.pump(topic, t));
  }

  wakeAll(topics: Iterable<string>): void {
    for (const topic of topics) this.wake(topic);
  }

  /**
   * Stops handing out jobs, writes the outcomes already known, and gives back
   * the jobs still running (their outcome would come too late): other hosts
   * take them at once.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poller);
    for (const t of this.topics.values()) t.timer.cancel();
    this.deadlines.stop();
    while (this.writing) await this.writing;
    this.flushOutcomes();
    while (this.writing) await this.writing;
    this.leases.stop();
    const running = this.leases.ids;
    if (running.length > 0) await releaseJobs(this.db, this.lease.hostId, running).catch(() => undefined);
  }

  /** Whether work is in hand (for idle checks). */
  get busy(): boolean {
    if (this.outcomes.length > 0 || this.writing) return true;
    for (const t of this.topics.values()) if (t.pumping || t.flights.size > 0) return true;
    return false;
  }

  /** This host's consumers per topic: their names, jobs in flight, done and failed since the store opened. */
  counts(): Record<string, TopicCounts> {
    const out: Record<string, TopicCounts> = {};
    for (const [name, t] of this.topics) {
      out[name] = { consumers: [...new Set(t.subs.map((s) => s.unit))], inflight: t.flights.size, done: t.done, failed: t.failed };
    }
    return out;
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = new Topic(new DueTimer(() => this.wake(name)))));
    return t;
  }

  private async pump(name: string, t: Topic): Promise<void> {
    try {
      do {
        t.again = false;
        if (this.stopped) return;
        let free = 0;
        for (const s of t.subs) if (!s.draining) free += Math.max(0, s.concurrency - s.running);
        if (free === 0) return;
        const now = Date.now();
        const rows = await claimJobs(this.db, this.lease, { topic: name, now, limit: free, exclude: t.flights.keys(), keyed: true });
        const back: number[] = [];
        for (const job of rows) {
          // A worker may have ended, or the host stopped, while the claim ran.
          const sub = this.stopped ? undefined : leastBusy(t.subs);
          if (!sub) {
            back.push(job.id);
            continue;
          }
          t.flights.set(job.id, { job, sub, deadline: Date.now() + sub.timeoutMs, settled: false });
          this.leases.add(job.id);
          sub.running++;
          sub.send(jobMessage(name, job));
        }
        if (back.length > 0) this.release(back);
        this.deadlines.arm();
      } while (t.again);
    } catch (err) {
      // The poll tries again.
      this.log.warn('consumer jobs not claimed', { topic: name, error: String(err) });
    } finally {
      t.pumping = false;
    }
  }

  private settle(f: Flight, error: string | null, permanent: boolean): void {
    f.settled = true;
    f.sub.running--;
    // After stop the job was given back: another host runs it.
    if (this.stopped) return;
    this.outcomes.push({ flight: f, error, permanent });
    this.flushOutcomes();
    this.wake(f.job.topic);
  }

  /** Writes the outcomes gathered so far in one transaction, one transaction at a time. */
  private flushOutcomes(): void {
    if (this.writing || this.outcomes.length === 0) return;
    const batch = this.outcomes;
    this.outcomes = [];
    const host = this.lease.hostId;
    this.writing = this.db
      .tx(async (tx) => {
        const results: Array<{ dead: boolean; nextRunAt: number } | 'done' | null> = [];
        for (const o of batch) {
          const { job, sub } = o.flight;
          if (o.error === null) {
            const { rows } = await tx.query('DELETE FROM jobs WHERE id = $1 AND leased_by = $2 RETURNING id', [job.id, host]);
            results.push(rows.length > 0 ? 'done' : null);
          } else {
            results.push(await failJob(tx, host, this.opts, job, o.error, o.permanent ? job.attempts + 1 : sub.maxAttempts));
          }
        }
        return results;
      })
      .then(
        (results) => this.written(batch, results),
        (err: unknown) => {
          // Nothing was written: the jobs are still pending and leased to this host, which takes them again.
          this.log.error('consumer job outcomes not recorded; the jobs will run again', { jobs: batch.length, error: String(err) });
          for (const o of batch) {
            this.topics.get(o.flight.job.topic)?.flights.delete(o.flight.job.id);
            this.leases.delete(o.flight.job.id);
          }
          return new Promise<void>((r) => setTimeout(r, LOST_RETRY_MS).unref());
        },
      )
      .finally(() => {
        this.writing = null;
        for (const topic of new Set(batch.map((o) => o.flight.job.topic))) this.wake(topic);
        if (!this.stopped) this.flushOutcomes();
      });
  }

  private written(batch: Outcome[], results: Array<{ dead: boolean; nextRunAt: number } | 'done' | null>): void {
    batch.forEach((o, i) => {
      const { job, sub } = o.flight;
      const t = this.topics.get(job.topic);
      t?.flights.delete(job.id);
      this.leases.delete(job.id);
      const r = results[i];
      const fields = { topic: job.topic, consumer: sub.unit, jobId: jobIdOf(job.id), attempt: job.attempts + 1, error: o.error };
      if (r === null) {
        // The lease ran out and another host took the job over: its outcome is that host's to write.
        this.log.warn('consumer job outcome dropped: its lease had passed to another host', fields);
        return;
      }
      if (r === 'done') {
        if (t) t.done++;
        return;
      }
      if (t) t.failed++;
      if (r.dead) this.log.error('consumer job dead-lettered', fields);
      else {
        this.retries.set(job.topic, (this.retries.get(job.topic) ?? 0) + 1);
        this.log.warn('consumer job failed, will retry', { ...fields, retryInMs: r.nextRunAt - Date.now() });
        t?.timer.schedule(r.nextRunAt);
      }
    });
  }

  private release(ids: number[]): void {
    releaseJobs(this.db, this.lease.hostId, ids).catch((err: unknown) =>
      this.log.warn('jobs not given back; they run when their lease ends', { jobs: ids.length, error: String(err) }),
    );
  }

  private *flights(): Iterable<Flight> {
    for (const t of this.topics.values()) yield* t.flights.values();
  }
}
