/**
 * Outbound webhooks through the queue. An event is stored as one job per
 * matching endpoint, in the transaction that caused it; deliveries run
 * concurrently (bounded in all and per endpoint, so one endpoint that hangs
 * holds at most its own slots), each with a timeout, retried with backoff and
 * dead-lettered after the last try. Delivery is at least once: a receiver
 * dedupes on `x-cgihost-delivery`.
 *
 * The network I/O is asynchronous in the store thread and its results are
 * small writes through group commit, so a slow endpoint slows no fan-out or
 * request.
 */
import type { Db } from '../db.js';
import type { GroupCommit, Tx } from '../group-commit.js';
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions, WebhookConfig } from '../options.js';
import { DueTimer } from './due-timer.js';
import type { JobQueue, JobRow } from './jobs.js';
import { errorText, WEBHOOK, WebhookClient, webhookBody, WebhookEndpoints } from './webhook-delivery.js';

export { signBody, WEBHOOK } from './webhook-delivery.js';

export class WebhookDispatcher {
  private readonly endpoints: WebhookEndpoints;
  private readonly hooks: WebhookConfig[];
  /** Jobs being delivered or having their outcome written; still 'pending' in the table until then. */
  private readonly inflight = new Map<number, AbortController>();
  private readonly perEndpoint = new Map<string, number>();
  private readonly timer = new DueTimer(() => this.pump());
  private readonly client: WebhookClient;
  private scheduled = false;
  private stopped = false;

  constructor(
    hooks: readonly WebhookConfig[],
    private readonly jobs: JobQueue,
    private readonly commit: GroupCommit,
    private readonly opts: ResolvedQueueOptions,
    private readonly log: Logger,
  ) {
    this.endpoints = new WebhookEndpoints(hooks);
    this.hooks = this.endpoints.hooks;
    this.client = new WebhookClient(opts);
  }

  /** Whether any endpoint listens to `event` (lets callers skip building a payload). */
  wants(event: string): boolean {
    return this.endpoints.wants(event);
  }

  /** Stores one delivery job per endpoint that listens to `event`, inside the caller's transaction. */
  emit(tx: Tx, event: string, data: unknown): number {
    const targets = this.endpoints.targets(event);
    if (targets.length === 0) return 0;
    const body = webhookBody(event, tx.now, data);
    for (const url of targets) this.jobs.enqueue(tx, WEBHOOK, body, url);
    return targets.length;
  }

  /** On open: jobs of endpoints no longer configured are dead-lettered; the rest resume. */
  start(db: Db): void {
    const r = db
      .prepare(
        `UPDATE jobs SET state = 'dead', last_error = 'endpoint no longer configured', updated_at = ?
          WHERE topic = '${WEBHOOK}' AND state = 'pending' AND key NOT IN (SELECT value FROM json_each(?))`,
      )
      .run(Date.now(), JSON.stringify(this.hooks.map((h) => h.url)));
    if (r.changes > 0) this.log.warn('webhook jobs of removed endpoints dead-lettered', { jobs: r.changes });
    this.wake();
  }

  wake(): void {
    if (this.scheduled || this.stopped || this.hooks.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Aborts deliveries in flight; their jobs stay pending and are delivered after the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer.cancel();
    for (const ac of this.inflight.values()) ac.abort();
    await this.client.close();
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const hook of this.hooks) {
      const busy = this.perEndpoint.get(hook.url) ?? 0;
      let free = Math.min(this.opts.webhookConcurrencyPerEndpoint - busy, this.opts.webhookConcurrency - this.inflight.size);
      if (free > 0) {
        // The endpoint's jobs in flight are still pending: read past them.
        for (const job of this.jobs.dueForKey(WEBHOOK, hook.url, now, free + busy)) {
          if (this.inflight.has(job.id)) continue;
          if (free-- <= 0) break;
          void this.deliver(hook, job);
        }
      }
      const next = this.jobs.nextDue(WEBHOOK, hook.url, now);
      if (next !== null) this.timer.schedule(next);
    }
  }

  private async deliver(hook: WebhookConfig, job: JobRow): Promise<void> {
    const ac = new AbortController();
    this.inflight.set(job.id, ac);
    this.perEndpoint.set(hook.url, (this.perEndpoint.get(hook.url) ?? 0) + 1);
    const error = await this.client.post(hook, job.id, job.payload, ac);
    if (this.stopped) return;
    try {
      const outcome = await this.commit.write((tx) => {
        if (error === null) {
          this.jobs.done(job.id, tx.now);
          return null;
        }
        return this.jobs.fail(tx, job, error);
      });
      if (outcome?.dead) {
        this.log.error('webhook delivery dead-lettered', { url: hook.url, jobId: job.id, attempts: job.attempts + 1, error });
      } else if (outcome) {
        this.log.warn('webhook delivery failed, will retry', { url: hook.url, jobId: job.id, error });
        this.timer.schedule(outcome.nextRunAt);
      }
    } catch (err) {
      // The outcome was not written: the job is still pending and will be delivered again.
      this.log.error('webhook outcome not recorded', { jobId: job.id, error: errorText(err) });
    } finally {
      this.inflight.delete(job.id);
      this.perEndpoint.set(hook.url, this.perEndpoint.get(hook.url)! - 1);
    }
    this.wake();
  }
}
