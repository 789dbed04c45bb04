/**
 * The reads of an inbox on SQLite: a range of entries after a sync key, and
 * the last seq. The store thread runs them on its connection (Inbox), and a
 * CGI's worker runs `sync` on a read-only connection of its own
 * (src/worker/sqlite-reads.ts): an entry is in the database file before its
 * send is answered, so a read that follows it — from any thread — sees it.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SyncMessage, SyncResult } from './api.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from './message-view.js';

export class InboxReads {
  private readonly maxSeq: Statement<[string], number>;
  private readonly range: Statement<[string, number, number], EntryRow>;

  constructor(db: Db) {
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
  }

  /** The last seq of `uid`'s inbox in this connection's view (0 when empty). */
  lastSeq(uid: string): number {
    return this.maxSeq.get(uid)!;
  }

  /** Entries of `uid` after `syncKey`, at most `limit`. */
  read(uid: string, syncKey: number, limit: number): SyncResult {
    const rows = this.range.all(uid, syncKey, limit + 1);
    const continueFlag = rows.length > limit;
    if (continueFlag) rows.pop();
    const messages: SyncMessage[] = rows.map((r) => toSyncMessage(r, uid));
    return { messages, syncKey: rows.length > 0 ? rows[rows.length - 1]![0] : syncKey, continueFlag };
  }
}
