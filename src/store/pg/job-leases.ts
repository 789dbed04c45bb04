/**
 * Jobs claimed by one host among several (docs/postgres.md, "queue"): a due
 * job is taken with `SELECT … FOR UPDATE SKIP LOCKED` and leased to the host
 * (jobs.leased_until, leased_by) in the same statement, so two hosts never
 * take one job at once; the host renews its leases while the work runs, and
 * a host that dies (kill -9) stops renewing: its jobs become claimable again
 * when their lease runs out. An outcome is written only while the lease is
 * still the host's (`leased_by`), so a host that lost its lease cannot undo
 * the work of the host that took the job over.
 */
import type { Logger } from '../../log.js';
import type { ResolvedQueueOptions } from '../options.js';
import { backoffMs, type JobRow } from '../queue/jobs.js';
import type { PgDb, PgTx } from './db.js';

export interface JobLeaseOptions {
  /** This host, as jobs.leased_by. */
  hostId: string;
  /** How long a claim holds without renewal (renewed every third of it). */
  leaseMs: number;
}

/** How a host takes part in the shared queue (PgPlatform's consumers, PgWebhooks). */
export interface PgQueueHostOptions {
  /** This host, as jobs.leased_by (unique among the hosts; stable across restarts lets a restarted host retake its jobs at once). */
  hostId: string;
  /** How long a claimed job stays this host's without renewal (default 30 s): a dead host's jobs wait this long. */
  leaseMs?: number;
  /** How often to look for jobs other hosts enqueued, expired leases and due retries (default 250 ms). */
  pollMs?: number;
}

/** A dead host's jobs wait this long for another host (renewed every third of it while the work runs). */
export const DEFAULT_LEASE_MS = 30_000;
/** How often hosts look for jobs other hosts enqueued, expired leases and due retries. */
export const DEFAULT_POLL_MS = 250;

export const JOB_COLUMNS = 'id, topic, key, payload, attempts, next_run_at, created_at';

export interface Claim {
  topic: string;
  now: number;
  limit: number;
  /** Jobs this host holds already (in flight or having their outcome written): not taken again. */
  exclude: Iterable<number>;
  /** Only this key's jobs (a webhook endpoint)... */
  key?: string;
  /** ...or a consumer topic's order: of the pending jobs sharing a key, only the oldest may start. */
  keyed?: boolean;
}

/**
 * Takes up to `limit` due jobs of a topic in due order and leases them to
 * this host. A job whose lease ran out is due again; so is one still leased
 * to this host but not in `exclude` (an outcome this host failed to write).
 */
export async function claimJobs(db: PgDb, lease: JobLeaseOptions, c: Claim): Promise<JobRow[]> {
  if (c.limit <= 0) return [];
  const values: unknown[] = [c.topic, c.now, lease.hostId, [...c.exclude], c.limit, c.now + lease.leaseMs];
  let filter = '';
  if (c.key !== undefined) {
    values.push(c.key);
    filter = 'AND j.key = $7';
  } else if (c.keyed) {
    filter = `AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.topic = j.topic AND o.key = j.key AND o.state = 'pending' AND o.id < j.id))`;
  }
  const rows = await db.query<JobRow & Record<string, unknown>>(
    `WITH c AS (
       SELECT j.id FROM jobs j
        WHERE j.topic = $1 AND j.state = 'pending' AND j.next_run_at <= $2
          AND (j.leased_until IS NULL OR j.leased_until <= $2 OR j.leased_by = $3)
          AND NOT (j.id = ANY($4::bigint[])) ${filter}
        ORDER BY j.next_run_at, j.id LIMIT $5
        FOR UPDATE SKIP LOCKED)
     UPDATE jobs SET leased_until = $6, leased_by = $3 FROM c WHERE jobs.id = c.id
     RETURNING jobs.id, jobs.topic, jobs.key, jobs.payload, jobs.attempts, jobs.next_run_at, jobs.created_at`,
    values,
  );
  // RETURNING keeps no order.
  return rows.sort((a, b) => a.next_run_at - b.next_run_at || a.id - b.id);
}

/** Gives jobs back untried (the host is stopping, a worker was retired): any host may take them at once. */
export async function releaseJobs(db: PgDb, hostId: string, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`UPDATE jobs SET leased_until = NULL, leased_by = NULL WHERE leased_by = $1 AND id = ANY($2::bigint[])`, [hostId, ids]);
}

/**
 * A failed try, in the outcome's transaction: a retry with backoff, or a dead
 * letter after the last attempt (as JobQueue.fail); the lease ends. Null when
 * the job is no longer leased to this host (another took it over).
 */
export async function failJob(
  tx: PgTx,
  hostId: string,
  opts: ResolvedQueueOptions,
  job: JobRow,
  error: string,
  maxAttempts = opts.maxAttempts,
): Promise<{ dead: boolean; nextRunAt: number } | null> {
  const attempts = job.attempts + 1;
  const message = error.slice(0, 1000);
  const dead = attempts >= maxAttempts;
  const nextRunAt = dead ? 0 : tx.now + backoffMs(opts, attempts);
  const { rows } = await tx.query(
    `UPDATE jobs SET state = $1, attempts = $2, next_run_at = CASE WHEN $1 = 'dead' THEN next_run_at ELSE $3 END,
            last_error = $4, updated_at = $5, leased_until = NULL, leased_by = NULL
      WHERE id = $6 AND leased_by = $7 AND state = 'pending' RETURNING id`,
    [dead ? 'dead' : 'pending', attempts, nextRunAt, message, tx.now, job.id, hostId],
  );
  return rows.length === 0 ? null : { dead, nextRunAt };
}

/** Renews the leases of the jobs this host holds, every third of the lease, until stopped. */
export class LeaseKeeper {
  private readonly held = new Set<number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: PgDb,
    private readonly lease: JobLeaseOptions,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(lease.leaseMs / 3)));
    this.timer.unref();
  }

  add(id: number): void {
    this.held.add(id);
  }

  delete(id: number): void {
    this.held.delete(id);
  }

  get ids(): number[] {
    return [...this.held];
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    try {
      await this.db.query(`UPDATE jobs SET leased_until = $1 WHERE leased_by = $2 AND id = ANY($3::bigint[])`, [
        Date.now() + this.lease.leaseMs,
        this.lease.hostId,
        [...this.held],
      ]);
    } catch (err) {
      // Renewed at the next turn; a lease that runs out meanwhile lets another host run the job (at least once).
      this.log.warn('job leases not renewed', { jobs: this.held.size, error: String(err) });
    }
  }
}
