/**
 * Outbound webhooks on PostgreSQL: `emit` stores one 'webhook' job per
 * endpoint that listens, in the caller's transaction (as the SQLite
 * dispatcher, queue/webhooks.ts); whichever host claims a job (with a lease,
 * job-leases.ts) delivers it, with the same headers, signature, timeout,
 * concurrency and retries (queue/webhook-delivery.ts). Each job is claimed
 * by one host at a time, so with several hosts an event is delivered once
 * (at least once if a host dies mid-delivery: receivers dedupe on
 * `x-cgihost-delivery`). The concurrency bounds are per host.
 */
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions, WebhookConfig } from '../options.js';
import { DueTimer } from '../queue/due-timer.js';
import type { JobRow } from '../queue/jobs.js';
import { errorText, WEBHOOK, WebhookClient, webhookBody, WebhookEndpoints } from '../queue/webhook-delivery.js';
import { enqueueJob, type PgDb, type PgTx } from './db.js';
import {
  claimJobs,
  DEFAULT_LEASE_MS,
  DEFAULT_POLL_MS,
  failJob,
  LeaseKeeper,
  releaseJobs,
  type JobLeaseOptions,
  type PgQueueHostOptions,
} from './job-leases.js';
import type { WebhookSink } from './parts.js';

const PRUNE_EVERY_MS = 10_000;

export class PgWebhooks implements WebhookSink {
  private readonly endpoints: WebhookEndpoints;
  private readonly client: WebhookClient;
  private readonly leases: LeaseKeeper;
  /** Jobs being delivered or having their outcome written (still leased to this host until then). */
  private readonly inflight = new Map<number, AbortController>();
  private readonly perEndpoint = new Map<string, number>();
  private readonly timer = new DueTimer(() => this.wake());
  private readonly poller: NodeJS.Timeout;
  private pumping = false;
  private again = false;
  private stopped = false;
  private lastPrune = 0;
  /** Retries scheduled by this host since it opened (StoreStats.queueRetries.webhook). */
  retries = 0;

  /** Opens the sink and starts delivering (jobs of endpoints no longer configured are dead-lettered first). */
  static async open(
    db: PgDb,
    hooks: readonly WebhookConfig[],
    queue: ResolvedQueueOptions,
    opts: PgQueueHostOptions,
    log: Logger,
  ): Promise<PgWebhooks> {
    const w = new PgWebhooks(
      hooks,
      db,
      queue,
      { hostId: opts.hostId, leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS },
      opts.pollMs ?? DEFAULT_POLL_MS,
      log,
    );
    await w.start();
    return w;
  }

  private constructor(
    hooks: readonly WebhookConfig[],
    private readonly db: PgDb,
    private readonly opts: ResolvedQueueOptions,
    private readonly lease: JobLeaseOptions,
    pollMs: number,
    private readonly log: Logger,
  ) {
    this.endpoints = new WebhookEndpoints(hooks);
    this.client = new WebhookClient(opts);
    this.leases = new LeaseKeeper(db, lease, log);
    this.poller = setInterval(() => this.wake(), pollMs);
    this.poller.unref();
  }

  /** Whether any endpoint listens to `event` (lets callers skip building a payload). */
  wants(event: string): boolean {
    return this.endpoints.wants(event);
  }

  /** Stores one delivery job per endpoint that listens to `event`, in the caller's transaction; delivered once it commits. */
  async emit(tx: PgTx, event: string, data: unknown): Promise<void> {
    const targets = this.endpoints.targets(event);
    if (targets.length === 0) return;
    const body = webhookBody(event, tx.now, data);
    for (const url of targets) await enqueueJob(tx, WEBHOOK, body, url);
    tx.after(() => this.wake());
  }

  private async start(): Promise<void> {
    const rows = await this.db.query(
      `UPDATE jobs SET state = 'dead', last_error = 'endpoint no longer configured', updated_at = $1, leased_until = NULL, leased_by = NULL
        WHERE topic = '${WEBHOOK}' AND state = 'pending' AND NOT (key = ANY($2::text[])) RETURNING id`,
      [Date.now(), this.endpoints.hooks.map((h) => h.url)],
    );
    if (rows.length > 0) this.log.warn('webhook jobs of removed endpoints dead-lettered', { jobs: rows.length });
    this.wake();
  }

  wake(): void {
    if (this.stopped || this.endpoints.hooks.length === 0) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** Aborts deliveries in flight and gives their jobs back: any host delivers them. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poller);
    this.timer.cancel();
    this.leases.stop();
    for (const ac of this.inflight.values()) ac.abort();
    const held = this.leases.ids;
    if (held.length > 0) await releaseJobs(this.db, this.lease.hostId, held).catch(() => undefined);
    await this.client.close();
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        for (const hook of this.endpoints.hooks) {
          if (this.stopped) return;
          const busy = this.perEndpoint.get(hook.url) ?? 0;
          const free = Math.min(this.opts.webhookConcurrencyPerEndpoint - busy, this.opts.webhookConcurrency - this.inflight.size);
          if (free <= 0) continue;
          const jobs = await claimJobs(this.db, this.lease, {
            topic: WEBHOOK,
            key: hook.url,
            now: Date.now(),
            limit: free,
            exclude: this.inflight.keys(),
          });
          if (this.stopped) {
            await releaseJobs(
              this.db,
              this.lease.hostId,
              jobs.map((j) => j.id),
            ).catch(() => undefined);
            return;
          }
          for (const job of jobs) void this.deliver(hook, job);
        }
        await this.prune();
      } while (this.again);
    } catch (err) {
      // The poll tries again.
      this.log.warn('webhook jobs not claimed', { error: errorText(err) });
    } finally {
      this.pumping = false;
    }
  }

  private async deliver(hook: WebhookConfig, job: JobRow): Promise<void> {
    const ac = new AbortController();
    this.inflight.set(job.id, ac);
    this.leases.add(job.id);
    this.perEndpoint.set(hook.url, (this.perEndpoint.get(hook.url) ?? 0) + 1);
    try {
      const error = await this.client.post(hook, job.id, job.payload, ac);
      if (this.stopped) return;
      const host = this.lease.hostId;
      const outcome = await this.db.tx(async (tx) => {
        if (error !== null) return failJob(tx, host, this.opts, job, error);
        const { rows } = await tx.query(
          `UPDATE jobs SET state = 'done', attempts = attempts + 1, updated_at = $1, leased_until = NULL, leased_by = NULL
            WHERE id = $2 AND leased_by = $3 AND state = 'pending' RETURNING id`,
          [tx.now, job.id, host],
        );
        return rows.length > 0 ? ('done' as const) : null;
      });
      if (outcome === null) {
        this.log.warn('webhook outcome dropped: its lease had passed to another host', { url: hook.url, jobId: job.id, error });
      } else if (outcome !== 'done' && outcome.dead) {
        this.log.error('webhook delivery dead-lettered', { url: hook.url, jobId: job.id, attempts: job.attempts + 1, error });
      } else if (outcome !== 'done') {
        this.retries++;
        this.log.warn('webhook delivery failed, will retry', { url: hook.url, jobId: job.id, error });
        this.timer.schedule(outcome.nextRunAt);
      }
    } catch (err) {
      // The outcome was not written: the job is still pending, leased to this host, and is delivered again.
      this.log.error('webhook outcome not recorded', { jobId: job.id, error: errorText(err) });
    } finally {
      this.inflight.delete(job.id);
      this.leases.delete(job.id);
      this.perEndpoint.set(hook.url, this.perEndpoint.get(hook.url)! - 1);
    }
    this.wake();
  }

  /** Done deliveries are kept doneRetentionMs (for inspection), then deleted. */
  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.db.query(
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE topic = '${WEBHOOK}' AND state = 'done' AND updated_at < $1 LIMIT 10000)`,
      [now - this.opts.doneRetentionMs],
    );
  }
}
