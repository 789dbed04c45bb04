/**
 * Search (SPEC §6): the caller's own text entries containing a substring,
 * newest message first. Text messages are indexed once (by SearchIndexer) in
 * two FTS5 tables (see search-grams.ts): the trigram index for queries of three
 * or more characters, the short index for one or two. The index is over
 * messages, not inboxes (a group message is indexed once, not once per
 * member); a match is kept when the caller's inbox holds it (inbox_by_msg), so
 * the cost grows with the number of matching messages newer than the last one
 * returned, not with the size of any inbox.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SyncMessage } from './api.js';
import type { ResolvedConversation } from './conversations.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from './message-view.js';
import { foldedCodePoints, shortQuery, SHORT_QUERY_MAX, trigramQuery } from './search-grams.js';
import { codePointsAtMost, invalid, isIntIn } from './validate.js';

export const MAX_QUERY_CODE_POINTS = 100;
export const MAX_SEARCH_LIMIT = 100;

interface Params {
  uid: string;
  q: string;
  /** One conversation only: a 1:1 peer or a group (at most one of them). */
  peer: string | null;
  group: string | null;
  limit: number;
}

export class Search {
  private readonly byTrigram: Statement<[Params], EntryRow>;
  private readonly byShort: Statement<[Params], EntryRow>;

  constructor(db: Db) {
    const query = (table: string) =>
      db
        .prepare<[Params], EntryRow>(
          `SELECT i.seq, ${ENTRY_COLUMNS}
             FROM ${table} f
             JOIN inbox i ON i.msg_id = f.rowid AND i.uid = @uid
             JOIN messages m ON m.id = f.rowid
            WHERE f.${table} MATCH @q AND m.recalled_at IS NULL
              AND (@group IS NULL OR m.group_id = @group)
              AND (@peer IS NULL OR (m.group_id IS NULL AND ((m.from_uid = @uid AND m.to_uid = @peer) OR (m.from_uid = @peer AND m.to_uid = @uid))))
            ORDER BY f.rowid DESC LIMIT @limit`,
        )
        .raw();
    this.byTrigram = query('msg_trigram');
    this.byShort = query('msg_short');
  }

  /** `uid`'s text entries containing `query` (in one conversation when given), newest first. */
  find(uid: string, query: unknown, scope: ResolvedConversation | null, limit: number): SyncMessage[] {
    if (typeof query !== 'string' || query.length === 0 || !codePointsAtMost(query, MAX_QUERY_CODE_POINTS)) {
      invalid(`query must be 1 to ${MAX_QUERY_CODE_POINTS} characters`);
    }
    if (!query.isWellFormed()) invalid('query is not well-formed Unicode');
    if (query.includes('\0')) invalid('query must not contain U+0000 (NUL)');
    if (!isIntIn(limit, 1, MAX_SEARCH_LIMIT)) invalid(`limit must be 1 to ${MAX_SEARCH_LIMIT}`);
    const short = foldedCodePoints(query).length <= SHORT_QUERY_MAX;
    const p: Params = {
      uid,
      q: short ? shortQuery(query) : trigramQuery(query),
      peer: scope && !scope.isGroup ? scope.conv : null,
      group: scope?.isGroup ? scope.conv : null,
      limit,
    };
    const rows = (short ? this.byShort : this.byTrigram).all(p);
    return rows.map((r) => toSyncMessage(r, uid));
  }
}
