/**
 * Shared by the store and queue tests: a Store on a real SQLite file in a temp
 * dir, users made in it, and bundles of TypeScript entries (the store thread, child
 * processes) that run with plain node.
 */
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { forwardLogger } from '../../src/log.js';
import { Store } from '../../src/store/store.js';
import type { StoreOptions } from '../../src/store/options.js';
import { ROOT, tempDir } from '../helpers/index.js';
import { freshDatabase, PG_SKIP, requirePg } from '../helpers/postgres.js';
import { openPgStore } from '../../src/store/pg/open.js';
import type { PgStore, PgStoreOptions } from '../../src/store/pg/store.js';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];
/** Whether this engine's tests are skipped in this run (PostgreSQL without a cluster: helpers/postgres.ts). */
export const skipEngine = (engine: Engine): boolean => engine === 'postgres' && PG_SKIP;
/** Either engine's store, as the tests call it. */
export type AnyStore = Store | PgStore;

export interface Opened {
  store: Store;
  dir: string;
  logs: Array<{ level: string; msg: string; fields?: Record<string, unknown> }>;
  /** Closes the store (if still open) and removes the data dir. */
  cleanup(): Promise<void>;
}

export function openStore(opts: Partial<StoreOptions> = {}): Opened {
  const dir = opts.dataDir ?? tempDir('cgihost-store-test-');
  const logs: Opened['logs'] = [];
  const store = Store.open({
    synchronous: 'NORMAL',
    ...opts,
    dataDir: dir,
    log: forwardLogger((level, msg, fields) => logs.push({ level, msg, fields })),
  });
  return {
    store,
    dir,
    logs,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OpenedEngine {
  engine: Engine;
  store: AnyStore;
  dir: string;
  /** The PostgreSQL database's URL (postgres only). */
  url?: string;
  logs: Opened['logs'];
  cleanup(): Promise<void>;
}

/**
 * A store of either engine: SQLite in a temp dir, or PostgreSQL in a fresh
 * database of the test cluster (dropped by cleanup) with its media in a temp
 * dir. The PostgreSQL store is the whole engine (openPgStore: every part).
 */
export async function openEngine(engine: Engine, opts: Partial<PgStoreOptions> = {}): Promise<OpenedEngine> {
  if (engine === 'sqlite') return { engine, ...openStore(opts) };
  requirePg();
  const dir = opts.dataDir ?? tempDir('cgihost-pgstore-test-');
  const logs: Opened['logs'] = [];
  const db = await freshDatabase('cgihost_store');
  let store: PgStore;
  try {
    store = await openPgStore({
      ...opts,
      dataDir: dir,
      url: db.url,
      log: forwardLogger((level, msg, fields) => logs.push({ level, msg, fields })),
    });
  } catch (e) {
    await db.drop();
    throw e;
  }
  return {
    engine,
    store,
    dir,
    url: db.url,
    logs,
    async cleanup() {
      await store.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `n` users made straight in the store (no password hashing), named `prefix_0`…; resolves their uids. */
export async function storeUsers(store: AnyStore, n: number, prefix = 'user'): Promise<string[]> {
  const made = await Promise.all(
    Array.from({ length: n }, (_, i) => store.createUser({ username: `${prefix}_${i}`, passwordHash: 'hash' })),
  );
  return made.map((u) => u.uid);
}

/** Every entry of a user's inbox, paging through sync. */
export async function readAll(store: AnyStore, uid: string) {
  const all = [];
  let key = 0;
  for (;;) {
    const r = await store.sync({ uid, syncKey: key, limit: 500, timeoutMs: 0 });
    all.push(...r.messages);
    key = r.syncKey;
    if (!r.continueFlag) return all;
  }
}

/**
 * Bundles a TypeScript entry into an .mjs that plain node (a Worker, a child
 * process) can run. It lands under node_modules/.cache so that the external
 * packages (better-sqlite3, undici) resolve from it.
 */
export async function bundle(entry: string): Promise<string> {
  const outdir = join(ROOT, 'node_modules/.cache/cgihost-test');
  mkdirSync(outdir, { recursive: true });
  const out = join(mkdtempSync(join(outdir, 'b-')), 'entry.mjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    outfile: out,
    logLevel: 'warning',
  });
  return out;
}

export function removeBundle(file: string): void {
  rmSync(resolve(file, '..'), { recursive: true, force: true });
}
