/**
 * Opens the store's engine named by the options (SPEC §9): SQLite in the data
 * dir (the default), or PostgreSQL at `url`.
 */
import type { StoreEngine } from './engine.js';
import type { StoreOptions } from './options.js';
import { Store } from './store.js';

export async function openEngine(opts: StoreOptions): Promise<StoreEngine> {
  if (opts.engine === 'postgres') {
    if (!opts.url) throw new Error('the postgres engine needs store.url');
    const { openPgStore } = await import('./pg/open.js');
    return openPgStore({ ...opts, url: opts.url });
  }
  return Store.open(opts);
}
