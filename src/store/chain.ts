/**
 * A conversation's entries in one inbox, newest first: each entry's `prev` is
 * the seq of the entry before it in the same conversation (written with the
 * entry, see Inbox), so walking a conversation costs one primary-key lookup
 * per entry visited and nothing for the rest of the inbox.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SystemEventKind } from './api.js';
import { conversationOf } from './inbox.js';
import { ENTRY_COLUMNS, type EntryRow } from './message-view.js';

/** An entry (ENTRY_COLUMNS) and the seq of the conversation's entry before it. */
export type ChainRow = [...EntryRow, prev: number | null];

export const PREV = 13;

interface PageParams {
  uid: string;
  start: number;
  n: number;
}

export class ConversationChain {
  private readonly one: Statement<[string, number], ChainRow>;
  private readonly prevOf: Statement<[string, number], number | null>;
  private readonly pageOf: Statement<[PageParams], ChainRow>;

  constructor(db: Db) {
    this.one = db
      .prepare<[string, number], ChainRow>(
        `SELECT i.seq, ${ENTRY_COLUMNS}, i.prev FROM inbox i JOIN messages m ON m.id = i.msg_id WHERE i.uid = ? AND i.seq = ?`,
      )
      .raw();
    this.prevOf = db.prepare<[string, number], number | null>('SELECT prev FROM inbox WHERE uid = ? AND seq = ?').pluck();
    // `n` entries from `start` down, in one statement: the links are followed inside SQLite.
    this.pageOf = db
      .prepare<[PageParams], ChainRow>(
        `WITH RECURSIVE chain(seq, k) AS (
           SELECT @start, 1
           UNION ALL
           SELECT i.prev, chain.k + 1 FROM chain JOIN inbox i ON i.uid = @uid AND i.seq = chain.seq
            WHERE i.prev IS NOT NULL AND chain.k < @n
         )
         SELECT i.seq, ${ENTRY_COLUMNS}, i.prev
           FROM chain JOIN inbox i ON i.uid = @uid AND i.seq = chain.seq JOIN messages m ON m.id = i.msg_id
          ORDER BY chain.k`,
      )
      .raw();
  }

  entry(uid: string, seq: number): ChainRow | undefined {
    return this.one.get(uid, seq);
  }

  /** Up to `n` entries from `seq` (included) back, newest first. */
  page(uid: string, seq: number, n: number): ChainRow[] {
    return this.pageOf.all({ uid, start: seq, n });
  }

  /** The newest entry of the chain from `seq` down whose seq is below `below` (null: none). */
  firstBelow(uid: string, seq: number | null, below: number): number | null {
    let at = seq;
    while (at !== null && at >= below) at = this.prevOf.get(uid, at) ?? null;
    return at;
  }

  /** The entries from `seq` back to the conversation's first, one lookup each (for walks that stop early). */
  *walk(uid: string, seq: number | null): Generator<ChainRow> {
    for (let at = seq; at !== null;) {
      const row = this.one.get(uid, at);
      if (!row) return;
      yield row;
      at = row[PREV];
    }
  }

  /** Whether entry `row` of `uid`'s inbox belongs to conversation `conv`. */
  static inConversation(row: ChainRow, uid: string, conv: string): boolean {
    const [, id, from, to, groupId, type, , , , event] = row;
    const kind = type === 'system' && event !== null ? ((JSON.parse(event) as { kind: SystemEventKind }).kind ?? null) : null;
    return conversationOf({ id, from, to, groupId, type, kind }, uid) === conv;
  }
}
