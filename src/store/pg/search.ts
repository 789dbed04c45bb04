/**
 * Search on PostgreSQL (SPEC §6): the caller's own text entries containing a
 * substring, newest message first, answered as the SQLite engine's search.ts
 * answers (same checks, same scope, recalled messages left out, same shape).
 *
 * The index is pg_trgm's GIN index on messages.content (schema v2,
 * messages_text_trgm, partial on `type = 'text' AND recalled_at IS NULL`,
 * which every query here repeats so that the planner may use it). A match is
 * kept when the caller's inbox holds the message (inbox_by_msg), as in SQLite.
 *
 * Matching, against SQLite's (FTS5 trigram for 3+ code points, the short
 * index of search-grams.ts for 1 or 2), both case-insensitive substrings:
 * - A query of ASCII only: `content ILIKE '%q%'` (%, _ and \ escaped). ASCII
 *   folding is the same in every database locale; the index serves it.
 * - Any other query: a regular expression in which each character that has
 *   case forms is the bracket of its forms ([éÉ]), built here with
 *   JavaScript's one-to-one toLowerCase/toUpperCase as search-grams.ts folds.
 *   ILIKE's folding would follow the database's LC_CTYPE (under "C" it folds
 *   ASCII only), this does not; pg_trgm still uses the index for it.
 * - Short queries need no second index: the trigram index narrows what it
 *   can (a 1- or 2-character query gives it no trigram, so such a search
 *   reads the caller's candidate texts through the GIN index's full scan or
 *   the inbox), and the operator decides.
 * Where they differ: characters whose case forms are not one-to-one pairs
 * (the Kelvin sign K matches k in SQLite's fold, not here; titlecase digraphs
 * such as ǅ); and PostgreSQL is always up to date, where SQLite finds a text
 * once its indexer caught up (at once for a search, unless > 2000 wait).
 */
import type { ConversationRef, SyncMessage } from '../api.js';
import { resolveConversation, type ResolvedConversation } from '../conversations.js';
import { toSyncMessage, type EntryRow } from '../message-view.js';
import { MAX_QUERY_CODE_POINTS, MAX_SEARCH_LIMIT } from '../search.js';
import { clampInt, codePointsAtMost, invalid, isIntIn } from '../validate.js';
import type { PgDb } from './db.js';
import { userExists } from './lookups.js';

interface Row extends Record<string, unknown> {
  seq: number;
  id: number;
  from_uid: string;
  to_uid: string | null;
  group_id: string | null;
  type: string;
  content: string | null;
  media_id: string | null;
  duration_ms: number | null;
  event: string | null;
  client_msg_id: string | null;
  created_at: number;
  recalled_at: number | null;
}

const SELECT = `SELECT i.seq, m.id, m.from_uid, m.to_uid, m.group_id, m.type, m.content, m.media_id,
       m.duration_ms, m.event, m.client_msg_id, m.created_at, m.recalled_at
  FROM messages m JOIN inbox i ON i.msg_id = m.id AND i.uid = $1
 WHERE m.type = 'text' AND m.recalled_at IS NULL`;
const SCOPE = `AND ($3::text IS NULL OR m.group_id = $3)
   AND ($4::text IS NULL OR (m.group_id IS NULL AND ((m.from_uid = $1 AND m.to_uid = $4) OR (m.from_uid = $4 AND m.to_uid = $1))))
 ORDER BY m.id DESC LIMIT $5`;
const BY_ILIKE = `${SELECT} AND m.content ILIKE $2 ${SCOPE}`;
const BY_REGEX = `${SELECT} AND m.content ~ $2 ${SCOPE}`;
/** The statements (for a test that the planner can use the trigram index for them). */
export const SEARCH_SQL = { ilike: BY_ILIKE, regex: BY_REGEX } as const;

export class PgSearch {
  constructor(private readonly db: PgDb) {}

  /** StoreApi's searchMessages, as Store.searchMessages checks and clamps it. */
  async searchMessages(a: ConversationRef & { uid: string; query: string; limit: number }): Promise<{ messages: SyncMessage[] }> {
    if (typeof a.uid !== 'string') invalid('uid is required');
    const scoped = (a.peer !== undefined && a.peer !== null) || (a.groupId !== undefined && a.groupId !== null);
    const scope = scoped ? await this.resolve(a) : null;
    return { messages: await this.find(a.uid, a.query, scope, clampInt(a.limit, 1, MAX_SEARCH_LIMIT, 20)) };
  }

  /** `uid`'s text entries containing `query` (in one conversation when given), newest first. */
  async find(uid: string, query: unknown, scope: ResolvedConversation | null, limit: number): Promise<SyncMessage[]> {
    if (typeof query !== 'string' || query.length === 0 || !codePointsAtMost(query, MAX_QUERY_CODE_POINTS)) {
      invalid(`query must be 1 to ${MAX_QUERY_CODE_POINTS} characters`);
    }
    if (!query.isWellFormed()) invalid('query is not well-formed Unicode');
    if (query.includes('\0')) invalid('query must not contain U+0000 (NUL)');
    if (!isIntIn(limit, 1, MAX_SEARCH_LIMIT)) invalid(`limit must be 1 to ${MAX_SEARCH_LIMIT}`);
    // PostgreSQL's text holds no U+0000, so no message contains it (and it cannot be sent as a parameter).
    if (query.includes('\u0000')) return [];
    const ascii = /^[\x01-\x7f]*$/.test(query);
    const rows = await this.db.query<Row>(ascii ? BY_ILIKE : BY_REGEX, [
      uid,
      ascii ? likePattern(query) : casePattern(query),
      scope?.isGroup ? scope.conv : null,
      scope && !scope.isGroup ? scope.conv : null,
      limit,
    ]);
    return rows.map((r) => toSyncMessage(toEntry(r), uid));
  }

  /** resolveConversation's checks, with the existence of the peer or group read first. */
  private async resolve(a: ConversationRef): Promise<ResolvedConversation> {
    const user = typeof a.peer === 'string' && (await userExists(this.db, a.peer));
    const group =
      typeof a.groupId === 'string' && (await this.db.query('SELECT 1 FROM groups WHERE group_id = $1', [a.groupId])).length > 0;
    return resolveConversation(a, { userExists: () => user, groupExists: () => group });
  }
}

/** `%query%` for ILIKE, its wildcards and escape character taken literally. */
export function likePattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A regular expression (PostgreSQL ARE) matching `query` anywhere, each character in any of its one-to-one case forms. */
export function casePattern(query: string): string {
  let out = '';
  for (const ch of query) {
    const forms = new Set([ch]);
    for (const f of [ch.toLowerCase(), ch.toUpperCase()]) if ([...f].length === 1) forms.add(f);
    if (forms.size === 1) out += /[\\^$.|?*+()[\]{}]/.test(ch) ? `\\${ch}` : ch;
    else out += `[${[...forms].map((f) => (/[\\\]^-]/.test(f) ? `\\${f}` : f)).join('')}]`;
  }
  return out;
}

function toEntry(r: Row): EntryRow {
  return [
    r.seq,
    r.id,
    r.from_uid,
    r.to_uid,
    r.group_id,
    r.type as EntryRow[5],
    r.content,
    r.media_id,
    r.duration_ms,
    r.event,
    r.client_msg_id,
    r.created_at,
    r.recalled_at,
  ];
}
