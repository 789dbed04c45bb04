/**
 * A conversation's past (SPEC §6 gethistory): the caller's entries of one
 * conversation, newest first, a page at a time, read by following the
 * entries' `prev` links from the conversation's newest entry: a page costs
 * its own rows, whatever the size of the rest of the inbox.
 */
import type { SyncMessage } from './api.js';
import { ConversationChain, PREV } from './chain.js';
import { toSyncMessage, type EntryRow } from './message-view.js';

export const MAX_HISTORY_LIMIT = 200;

export class History {
  constructor(
    private readonly chain: ConversationChain,
    /** The seq of the conversation's newest entry in `uid`'s inbox (undefined: none). */
    private readonly tail: (uid: string, conv: string) => number | undefined,
  ) {}

  /** Entries of `conv` in `uid`'s inbox with seq < beforeSeq (all when absent), newest first. */
  page(uid: string, conv: string, beforeSeq: number | undefined, limit: number): { messages: SyncMessage[]; more: boolean } {
    const start = this.start(uid, conv, beforeSeq);
    if (start === null) return { messages: [], more: false };
    const rows = this.chain.page(uid, start, limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { messages: rows.map((r) => toSyncMessage(r as unknown as EntryRow, uid)), more };
  }

  /** The newest entry of the conversation below beforeSeq. */
  private start(uid: string, conv: string, beforeSeq: number | undefined): number | null {
    const tail = this.tail(uid, conv);
    if (tail === undefined) return null;
    if (beforeSeq === undefined || beforeSeq > tail) return tail;
    // The usual next page: beforeSeq is the oldest entry the client has of this conversation.
    const at = this.chain.entry(uid, beforeSeq);
    if (at && ConversationChain.inConversation(at, uid, conv)) return at[PREV];
    // Any other seq: down from the newest entry to below it.
    return this.chain.firstBelow(uid, tail, beforeSeq);
  }
}
