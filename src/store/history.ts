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
    const messages: SyncMessage[] = [];
    let more = false;
    for (const row of this.chain.walk(uid, this.start(uid, conv, beforeSeq))) {
      if (beforeSeq !== undefined && row[0] >= beforeSeq) continue;
      if (messages.length === limit) {
        more = true;
        break;
      }
      messages.push(toSyncMessage(row as unknown as EntryRow, uid));
    }
    return { messages, more };
  }

  /** Where the walk starts: after the entry at beforeSeq when it is one of this conversation's (the usual next page). */
  private start(uid: string, conv: string, beforeSeq: number | undefined): number | null {
    const tail = this.tail(uid, conv);
    if (tail === undefined) return null;
    if (beforeSeq === undefined || beforeSeq > tail) return tail;
    const at = this.chain.entry(uid, beforeSeq);
    if (at && ConversationChain.inConversation(at, uid, conv)) return at[PREV];
    // Any other seq: walk down from the newest entry to below it.
    return tail;
  }
}
