/**
 * The held syncs' wake-up bus across hosts (WakeBus of parts.ts): one
 * dedicated connection (a pg.Client, never the pool, never through a pooler
 * in transaction mode) that LISTENs on cgihost_inbox, cgihost_revoke and cgihost_release.
 * When the connection drops it reconnects with backoff (100 ms doubling to
 * 5 s) and then calls onWake(null): a notification may have been missed, so
 * every held sync is read again. A notification is only a hint; the store
 * also re-checks held syncs every second (PgStore), so a lost one costs at
 * most about a second.
 */
import pg from 'pg';
import type { Logger } from '../../log.js';
import { INBOX_CHANNEL, RELEASE_CHANNEL, REVOKE_CHANNEL } from './db.js';
import type { WakeBus } from './parts.js';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export class PgWakeBus implements WakeBus {
  private client: pg.Client | undefined;
  private readonly wakes: Array<(uids: string[] | null) => void> = [];
  private readonly revokes: Array<(epoch: number) => void> = [];
  private readonly releases: Array<(uid: string) => void> = [];
  private closed = false;
  private backoff = MIN_BACKOFF_MS;
  private retry: NodeJS.Timeout | undefined;
  /** The LISTEN connection's server process id (0 while not connected). */
  pid = 0;
  /** Connections made so far (1 after start; each reconnect adds one). */
  connects = 0;

  private constructor(
    private readonly url: string,
    private readonly applicationName: string,
    private readonly log?: Logger,
  ) {}

  /** Connects and LISTENs (fails when the first connection cannot be made). */
  static async start(url: string, opts: { applicationName?: string; log?: Logger } = {}): Promise<PgWakeBus> {
    const bus = new PgWakeBus(url, opts.applicationName ?? 'cgihost-listen', opts.log);
    await bus.connect();
    return bus;
  }

  onWake(fn: (uids: string[] | null) => void): void {
    this.wakes.push(fn);
  }

  onRevoke(fn: (epoch: number) => void): void {
    this.revokes.push(fn);
  }

  onRelease(fn: (uid: string) => void): void {
    this.releases.push(fn);
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    this.pid = 0;
    await c?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, application_name: this.applicationName, keepAlive: true });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === c) {
        this.client = undefined;
        this.pid = 0;
      }
      c.end().catch(() => {});
      if (this.closed) return;
      this.log?.warn('postgres LISTEN connection lost; reconnecting', { error: err?.message });
      this.schedule();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => this.notified(n.channel, n.payload ?? ''));
    try {
      await c.connect();
      await c.query(`LISTEN ${INBOX_CHANNEL}`);
      await c.query(`LISTEN ${REVOKE_CHANNEL}`);
      await c.query(`LISTEN ${RELEASE_CHANNEL}`);
      const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (this.closed) {
        await c.end().catch(() => {});
        return;
      }
      this.client = c;
      this.pid = rows[0]!.pid;
      this.connects++;
      this.backoff = MIN_BACKOFF_MS;
    } catch (err) {
      lost = true;
      await c.end().catch(() => {});
      throw err;
    }
  }

  private schedule(): void {
    if (this.retry || this.closed) return;
    const wait = this.backoff;
    this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().then(
        // Connected again: anything notified while down was missed.
        () => {
          if (!this.closed) for (const f of this.wakes) f(null);
        },
        (err: Error) => {
          this.log?.warn('postgres LISTEN reconnect failed', { error: err.message, retryInMs: this.backoff });
          this.schedule();
        },
      );
    }, wait);
    this.retry.unref();
  }

  private notified(channel: string, payload: string): void {
    if (channel === INBOX_CHANNEL) {
      const uids = payload.split(',').filter((u) => u.length > 0);
      if (uids.length > 0) for (const f of this.wakes) f(uids);
    } else if (channel === REVOKE_CHANNEL) {
      const epoch = Number(payload);
      if (Number.isSafeInteger(epoch)) for (const f of this.revokes) f(epoch);
    } else if (channel === RELEASE_CHANNEL) {
      if (payload.length > 0) for (const f of this.releases) f(payload);
    }
  }
}
