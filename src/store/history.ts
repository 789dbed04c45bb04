/**
 * A conversation's past (SPEC §6 gethistory): the caller's entries of one
 * conversation, newest first, a page at a time. Read from inbox_by_conv
 * (owner, conversation, seq): a page costs its own rows, whatever the size
 * of the rest of the inbox.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SyncMessage } from './api.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from './message-view.js';

export const MAX_HISTORY_LIMIT = 200;

export class History {
  private readonly before: Statement<[string, string, number, number], EntryRow>;

  constructor(db: Db) {
    this.before = db
      .prepare<[string, string, number, number], EntryRow>(
        `SELECT i.seq, ${ENTRY_COLUMNS}
           FROM inbox i JOIN messages m ON m.id = i.msg_id
          WHERE i.uid = ? AND i.conv = ? AND i.seq < ?
          ORDER BY i.seq DESC LIMIT ?`,
      )
      .raw();
  }

  /** Entries of `conv` in `uid`'s inbox with seq < beforeSeq (all when absent), newest first. */
  page(uid: string, conv: string, beforeSeq: number | undefined, limit: number): { messages: SyncMessage[]; more: boolean } {
    const rows = this.before.all(uid, conv, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { messages: rows.map((r) => toSyncMessage(r, uid)), more };
  }
}
