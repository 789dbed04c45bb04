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
import type { LoadSpec, WorkerToHost } from './protocol.js';
import { StoreRpc } from './store-client.js';
import { Tally } from './tally.js';

export class Runtime {
  readonly store: StoreRpc;
  readonly kv: Kv;
  readonly queue: Queue;
  readonly metrics: Tally;
  readonly env: Readonly<Record<string, string>>;
  private guarded?: GuardedFetch;
  private reads?: KvReadPath;

  constructor(
    readonly spec: LoadSpec,
    private readonly outbox: Outbox<WorkerToHost>,
  ) {
    this.store = new StoreRpc(spec.storePort);
    this.kv = createKv(this.store, () => (this.reads ??= this.openReads()));
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

  /**
   * ctx.kv's reads on a read-only connection of this worker's own (loaded on
   * the first read, from dist/worker-sqlite.cjs), when the host named the
   * store's file; else, or if it cannot be opened, through the store thread.
   */
  private openReads(): KvReadPath {
    const viaStore = storeReads(this.store);
    if (!this.spec.kvReadFile) return viaStore;
    try {
      const { openKvReads } = require(join(__dirname, 'worker-sqlite.cjs')) as typeof import('./kv-direct.js');
      const local = openKvReads(this.spec.kvReadFile);
      const group = this.spec.group;
      // A bad argument is a CgiError 400 thrown in the unit, as from the store thread.
      return {
        get: (a) => local.get(group, a, Date.now()),
        list: (a) => local.list(group, a, Date.now()),
      };
    } catch (e) {
      this.post({ t: 'log', level: 'warn', msg: 'ctx.kv reads go through the store thread', fields: { error: (e as Error).message } });
      return viaStore;
    }
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
