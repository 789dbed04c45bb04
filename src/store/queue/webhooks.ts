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
import { createHmac } from 'node:crypto';
import type { Agent } from 'undici';
import type { Db } from '../db.js';
import type { GroupCommit, Tx } from '../group-commit.js';
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions, WebhookConfig } from '../options.js';
import { DueTimer } from './due-timer.js';
import type { JobQueue, JobRow } from './jobs.js';

export const WEBHOOK = 'webhook';

export function signBody(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export class WebhookDispatcher {
  private readonly byEvent = new Map<string, WebhookConfig[]>();
  private readonly hooks: WebhookConfig[];
  /** Jobs being delivered or having their outcome written; still 'pending' in the table until then. */
  private readonly inflight = new Map<number, AbortController>();
  private readonly perEndpoint = new Map<string, number>();
  private readonly timer = new DueTimer(() => this.pump());
  /** undici costs ~10 MB in this thread: loaded with the first delivery, not at start. */
  private client?: Promise<{ agent: Agent; request: typeof import('undici').request }>;
  private scheduled = false;
  private stopped = false;

  constructor(
    hooks: readonly WebhookConfig[],
    private readonly jobs: JobQueue,
    private readonly commit: GroupCommit,
    private readonly opts: ResolvedQueueOptions,
    private readonly log: Logger,
  ) {
    // One endpoint listed twice would get every event twice.
    const seen = new Set<string>();
    this.hooks = hooks.filter((h) => !seen.has(h.url) && seen.add(h.url));
    for (const h of this.hooks) {
      for (const e of new Set(h.events)) {
        const list = this.byEvent.get(e) ?? [];
        list.push(h);
        this.byEvent.set(e, list);
      }
    }
  }

  private http() {
    this.client ??= import('undici').then(({ Agent, request }) => ({
      agent: new Agent({ connect: { timeout: this.opts.webhookTimeoutMs }, keepAliveTimeout: 4_000 }),
      request,
    }));
    return this.client;
  }

  /** Whether any endpoint listens to `event` (lets callers skip building a payload). */
  wants(event: string): boolean {
    return this.byEvent.has(event) || this.byEvent.has('*');
  }

  /** Stores one delivery job per endpoint that listens to `event`, inside the caller's transaction. */
  emit(tx: Tx, event: string, data: unknown): number {
    const targets = [...(this.byEvent.get(event) ?? []), ...(this.byEvent.get('*') ?? [])];
    if (targets.length === 0) return 0;
    const body = JSON.stringify({ event, createdAt: tx.now, data });
    const done = new Set<string>();
    for (const h of targets) {
      if (done.has(h.url)) continue;
      done.add(h.url);
      this.jobs.enqueue(tx, WEBHOOK, body, h.url);
    }
    return done.size;
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
    if (this.client) await (await this.client).agent.close().catch(() => undefined);
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
    // Loaded before the delivery's clock starts: the first import takes a while.
    const { agent, request } = await this.http();
    const timeout = setTimeout(() => ac.abort(new Error(`timed out after ${this.opts.webhookTimeoutMs} ms`)), this.opts.webhookTimeoutMs);
    let error: string | null = null;
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'cgihost-webhook',
        'x-cgihost-event': eventOf(job.payload),
        'x-cgihost-delivery': String(job.id),
      };
      if (hook.secret) headers['x-cgihost-signature'] = signBody(job.payload, hook.secret);
      const res = await request(hook.url, {
        method: 'POST',
        headers,
        body: job.payload,
        signal: ac.signal,
        dispatcher: agent,
        headersTimeout: this.opts.webhookTimeoutMs,
        bodyTimeout: this.opts.webhookTimeoutMs,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) error = `HTTP ${res.statusCode}`;
    } catch (err) {
      error = ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason.message : errorText(err);
    } finally {
      clearTimeout(timeout);
    }
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

function eventOf(body: string): string {
  try {
    const e = (JSON.parse(body) as { event?: unknown }).event;
    return typeof e === 'string' ? e : '';
  } catch {
    return '';
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error)
    return (err as Error & { code?: string }).code ? `${(err as { code?: string }).code}: ${err.message}` : err.message;
  return String(err);
}
