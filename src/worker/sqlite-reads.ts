/**
 * A worker's own read-only connection to the store's SQLite file (bundled on
 * its own as dist/worker-sqlite.cjs, loaded on the first read): ctx.kv's gets
 * and lists, and the inbox reads of `ctx.store.sync`, cost no round trip to
 * the store thread. Writes still go to the store thread, the one writer, and
 * resolve only once committed; a read that follows sees them.
 */
import Database from 'better-sqlite3';
import { InboxReads } from '../store/inbox-reads.js';
import { KvReads } from '../store/kv-reads.js';

export interface SqliteReads {
  kv: KvReads;
  inbox: InboxReads;
}

/** `recalls`: the store's count of committed recalls; with it, the inbox reader caches message rows (InboxReads). */
export function openSqliteReads(dbFile: string, recalls?: Int32Array): SqliteReads {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // A small page cache per worker: the store thread's holds the hot pages too, and the OS the rest.
  db.pragma('cache_size = -4096');
  return { kv: new KvReads(db), inbox: new InboxReads(db, recalls) };
}
