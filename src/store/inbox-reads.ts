/**
 * The reads of an inbox on SQLite: a range of entries after a sync key, and
 * the last seq. The store thread runs them on its connection (Inbox), and a
 * CGI's worker runs `sync` on a read-only connection of its own
 * (src/worker/sqlite-reads.ts): an entry is in the database file before its
 * send is answered, so a read that follows it — from any thread — sees it.
 *
 * A worker's reader keeps the message rows it has read (`RowCache`): a
 * message is stored once and read by every inbox holding it (each member of a
 * group, each device of a user, every resync), and a row never changes but by
 * a recall. The store thread bumps a shared counter after each committed
 * recall and before answering it, and the cache is dropped whenever the
 * counter moved: a sync that follows a recall's answer reads the row again.
 * With the rows cached, a sync reads only the inbox's own (seq, msg_id) pairs.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SyncMessage, SyncResult } from './api.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from './message-view.js';

/** Message rows a worker's cache holds at most (a few MB); past it, the oldest are dropped first. */
const MAX_CACHED_ROWS = 20_000;
/** Uncached rows of one read fetched one by one; past this many, the entries are read joined to their messages in one statement. */
const MAX_ROW_LOOKUPS = 8;

interface RowCache {
  /** The shared count of committed recalls (sharedCounter). */
  recalls: Int32Array;
  seen: number;
  /** msg_id → the message's row as the joined read gives it (its seq slot is not the reader's: see read). */
  rows: Map<number, EntryRow>;
  ids: Statement<[string, number, number], [number, number]>;
  one: Statement<[number], EntryRow>;
}

export class InboxReads {
  private readonly maxSeq: Statement<[string], number>;
  private readonly range: Statement<[string, number, number], EntryRow>;
  private readonly cache?: RowCache;

  /** With `recalls` (a worker's reader), message rows are cached and dropped whenever it moves. */
  constructor(db: Db, recalls?: Int32Array) {
    this.maxSeq = db.prepare<[string], number>('SELECT COALESCE(MAX(seq), 0) FROM inbox WHERE uid = ?').pluck();
    // One range scan of the user's inbox plus a primary-key lookup per entry.
    this.range = db
      .prepare<[string, number, number], EntryRow>(
        `SELECT i.seq, ${ENTRY_COLUMNS}
           FROM inbox i JOIN messages m ON m.id = i.msg_id
          WHERE i.uid = ? AND i.seq > ?
          ORDER BY i.seq LIMIT ?`,
      )
      .raw();
    if (recalls) {
      this.cache = {
        recalls,
        seen: Atomics.load(recalls, 0),
        rows: new Map(),
        ids: db
          .prepare<[string, number, number], [number, number]>(
            'SELECT seq, msg_id FROM inbox WHERE uid = ? AND seq > ? ORDER BY seq LIMIT ?',
          )
          .raw(),
        one: db.prepare<[number], EntryRow>(`SELECT 0, ${ENTRY_COLUMNS} FROM messages m WHERE m.id = ?`).raw(),
      };
    }
  }

  /** The last seq of `uid`'s inbox in this connection's view (0 when empty). */
  lastSeq(uid: string): number {
    return this.maxSeq.get(uid)!;
  }

  /** Entries of `uid` after `syncKey`, at most `limit`. */
  read(uid: string, syncKey: number, limit: number): SyncResult {
    const c = this.cache;
    if (!c) return joined(this.range.all(uid, syncKey, limit + 1), uid, syncKey, limit);
    const now = Atomics.load(c.recalls, 0);
    if (now !== c.seen) {
      c.rows.clear();
      c.seen = now;
    }
    const ids = c.ids.all(uid, syncKey, limit + 1);
    let missing = 0;
    for (const [, id] of ids) if (!c.rows.has(id)) missing++;
    if (missing > MAX_ROW_LOOKUPS) {
      // Mostly new messages: one joined read, whose rows the cache keeps.
      const rows = this.range.all(uid, syncKey, limit + 1);
      for (const r of rows) this.keep(c, r[1], r);
      return joined(rows, uid, syncKey, limit);
    }
    const continueFlag = ids.length > limit;
    if (continueFlag) ids.pop();
    const messages = ids.map(([seq, id]) => {
      let r = c.rows.get(id);
      // An entry's message row exists (rows are never deleted); a miss reads it once.
      if (!r) this.keep(c, id, (r = c.one.get(id)!));
      // A cached row is shared by every inbox holding the message: the entry's own seq replaces the row's.
      const m = toSyncMessage(r, uid);
      m.seq = seq;
      return m;
    });
    return { messages, syncKey: ids.length > 0 ? ids[ids.length - 1]![0] : syncKey, continueFlag };
  }

  private keep(c: RowCache, id: number, row: EntryRow): void {
    if (c.rows.size >= MAX_CACHED_ROWS) c.rows.delete(c.rows.keys().next().value!);
    c.rows.set(id, row);
  }
}

/** A page of joined rows (seq first): at most `limit`, and whether more follow. */
function joined(rows: EntryRow[], uid: string, syncKey: number, limit: number): SyncResult {
  const continueFlag = rows.length > limit;
  if (continueFlag) rows.pop();
  const messages: SyncMessage[] = rows.map((r) => toSyncMessage(r, uid));
  return { messages, syncKey: rows.length > 0 ? rows[rows.length - 1]![0] : syncKey, continueFlag };
}
