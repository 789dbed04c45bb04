/**
 * What one worker thread holds for the unit it runs: its load spec, the
 * outbox to the host, the store port, and the ctx bindings every context
 * shares (kv, queue, metrics, env, fetch). Contexts are per request, job or
 * run (context.ts); these are made once.
 */
import { join } from 'node:path';
import type { CgiFetch, CgiLogger, FetchInit, Queue } from '../sdk/context.js';
import type { Kv } from '../sdk/kv.js';
import type { GuardedFetch } from './fetch/client.js';
import { createKv, createQueue, storeReads, type KvReadPath } from './kv-client.js';
import type { Outbox } from '../ports/outbox.js';
import type { StoreClient, SyncArgs, SyncResult } from '../store/api.js';
import { syncBounds } from '../store/validate.js';
import type { LoadSpec, WorkerToHost } from './protocol.js';
import type { SqliteReads } from './sqlite-reads.js';
import { StoreRpc, type LocalOps } from './store-client.js';
import { Tally } from './tally.js';

export class Runtime {
  readonly store: StoreRpc;
  readonly kv: Kv;
  readonly queue: Queue;
  readonly metrics: Tally;
  readonly env: Readonly<Record<string, string>>;
  private guarded?: GuardedFetch;
  private kvReads?: KvReadPath;
  /** The worker's read-only connection: undefined until first needed, null where there is none. */
  private sqlite?: SqliteReads | null;
  private readonly localOps: LocalOps = { sync: (a, remote) => this.sync(a as SyncArgs, remote) };

  constructor(
    readonly spec: LoadSpec,
    private readonly outbox: Outbox<WorkerToHost>,
  ) {
    this.store = new StoreRpc(spec.storePort);
    this.kv = createKv(this.store, () => (this.kvReads ??= this.openKvReads()));
    this.queue = createQueue(this.store);
    this.metrics = new Tally((m) => this.post(m));
    this.env = Object.freeze({ ...spec.env });
  }

  post(m: WorkerToHost, transfer?: ArrayBuffer): void {
    this.outbox.push(m, transfer);
  }

  /** `ip`: a request's client address, named on every line it logs (behind trusted proxies, the one they report: SPEC §10). */
  logger(requestId: string, ip?: string): CgiLogger {
    const at = (level: 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) =>
      this.post({ t: 'log', level, msg, fields: ip === undefined ? fields : { ip, ...fields }, requestId });
    return { info: at('info'), warn: at('warn'), error: at('error') };
  }

  /** ctx.fetch bound to one context's signal. undici is loaded on the first call (dist/worker-fetch.cjs). */
  fetchFor(signal: () => AbortSignal): CgiFetch {
    return (input, init?: FetchInit) => {
      this.guarded ??= this.loadFetch();
      return this.guarded(input, init, signal());
    };
  }

  /** ctx.store for one request, job or run: calls carry its id (a held sync ends with it); `onHeld` hears how long one was held. */
  storeFor(requestId: string, onHeld?: (ms: number) => void): StoreClient {
    return this.store.clientFor(requestId, onHeld, this.localOps);
  }

  /**
   * A sync with entries to answer is read here, on the worker's own
   * connection; one with none (to be held, or a key past the end) goes to the
   * store thread, which holds it, answers SYNC_KEY_AHEAD, or reads again.
   */
  private async sync(a: SyncArgs, remote: (a: unknown) => Promise<unknown>): Promise<SyncResult> {
    const inbox = this.openSqlite()?.inbox;
    if (!inbox) return remote(a) as Promise<SyncResult>;
    // A bad argument is a CgiError 400 thrown in the unit, as from the store thread.
    const { limit } = syncBounds(a);
    const r = inbox.read(a.uid, a.syncKey, limit);
    return r.messages.length > 0 ? r : (remote(a) as Promise<SyncResult>);
  }

  /** ctx.kv's reads on the worker's own connection, else through the store thread. */
  private openKvReads(): KvReadPath {
    const kv = this.openSqlite()?.kv;
    if (!kv) return storeReads(this.store);
    const group = this.spec.group;
    // A bad argument is a CgiError 400 thrown in the unit, as from the store thread.
    return {
      get: (a) => kv.get(group, a, Date.now()),
      list: (a) => kv.list(group, a, Date.now()),
    };
  }

  /**
   * A read-only connection of this worker's own (loaded on the first read,
   * from dist/worker-sqlite.cjs), when the host named the store's file; null
   * without one, or if it cannot be opened (reads then go through the store thread).
   */
  private openSqlite(): SqliteReads | null {
    if (this.sqlite !== undefined) return this.sqlite;
    this.sqlite = null;
    if (!this.spec.sqliteFile) return null;
    try {
      const { openSqliteReads } = require(join(__dirname, 'worker-sqlite.cjs')) as typeof import('./sqlite-reads.js');
      this.sqlite = openSqliteReads(this.spec.sqliteFile, { recalls: this.spec.recalls, commits: this.spec.commits });
    } catch (e) {
      this.post({ t: 'log', level: 'warn', msg: 'reads go through the store thread', fields: { error: (e as Error).message } });
    }
    return this.sqlite;
  }

  private loadFetch(): GuardedFetch {
    // Beside this bundle in dist/ (or the single binary's cache dir); a plain require that esbuild leaves alone.
    const file = join(__dirname, 'worker-fetch.cjs');
    const mod = require(file) as typeof import('./fetch/client.js');
    return mod.createGuardedFetch({
      group: this.spec.group,
      allow: this.spec.fetchAllow,
      record: (host, status) => this.metrics.fetched(host, status),
    });
  }
}
