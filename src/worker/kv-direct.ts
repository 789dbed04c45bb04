/**
 * ctx.kv's reads on the worker's own read-only connection to the store's
 * SQLite file (bundled on its own as dist/worker-sqlite.cjs, loaded on a
 * worker's first kv read): a get or a list costs no round trip to the store
 * thread. Writes still go to the store thread, the one writer, and resolve
 * only once committed; a read that follows sees them.
 */
import Database from 'better-sqlite3';
import { KvReads } from '../store/kv-reads.js';

export function openKvReads(dbFile: string): KvReads {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // A small page cache per worker: the store thread's holds the hot pages too, and the OS the rest.
  db.pragma('cache_size = -4096');
  return new KvReads(db);
}
