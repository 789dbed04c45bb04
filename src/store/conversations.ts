/**
 * Conversations and unread counts (SPEC §6), kept incrementally: a row per
 * user and conversation, updated by every entry written into that user's inbox
 * in the same transaction (1:1 sends, group fan-out, system entries), so
 * listing conversations never scans an inbox. The rows of a transaction are
 * held in ConversationRows and written once each before COMMIT.
 *
 * An entry counts as unread when it is a text, voice, image or video message
 * from someone else with a seq above the read position; `read` and `receipt`
 * entries move nothing (not the list's order, not lastMessage). A recalled
 * message's entry is still such an entry, so it still counts until read.
 *
 * A read position never passes the conversation's last entry other than
 * read/receipt (lastSeq): marking read "up to the newest seq I have" is then
 * the same on every device and cannot ping-pong on the read entries it writes.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import type { Conversation, ConversationRef, ReadEvent, ReceiptEvent } from './api.js';
import type { Inbox } from './inbox.js';
import { systemMessage, type MessageFacts, type MessageRows, type NewMessage } from './message-rows.js';
import type { ConversationChain } from './chain.js';
import type { ConversationRows, ConversationState } from './conversation-rows.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from './message-view.js';
import { msgIdOf } from './ids.js';
import { invalid, isIntIn } from './validate.js';

const COUNTED = new Set<string>(['text', 'voice', 'image', 'video']);
export const MAX_CONVERSATIONS_LIMIT = 500;

/** A conversation named by the caller, checked: its key in the caller's inbox (`conv`). */
export interface ResolvedConversation {
  conv: string;
  isGroup: boolean;
}

/** Whether the other side of a conversation exists (accounts, groups). */
export interface ConversationPeers {
  userExists(uid: string): boolean;
  groupExists(groupId: string): boolean;
}

/** A listed row: the lastMessage's entry columns, then the conversation's own and its name. */
type ListRow = [...EntryRow, conv: string, isGroup: number, readSeq: number, unread: number, name: string | null];

/**
 * A row of the conversation list as both engines select it: the last
 * message's entry columns (ENTRY_COLUMNS), then conv, isGroup, readSeq,
 * unread and the name.
 */
export function conversationOf(r: readonly unknown[], uid: string): Conversation {
  const [conv, isGroup, readSeq, unread, name] = r.slice(13) as [string, unknown, number, number, string | null];
  const lastMessage = toSyncMessage(r as unknown as EntryRow, uid, true);
  const c = (isGroup ? { groupId: conv } : { peer: conv }) as Conversation;
  c.name = name ?? conv;
  c.lastMessage = lastMessage;
  c.lastSeq = lastMessage.seq;
  c.readSeq = readSeq;
  c.unread = unread;
  return c;
}

/** The system message of a read position or receipt in a conversation (a 1:1 chat or a group), as both engines store it. */
export function conversationEvent(
  from: string,
  ref: ResolvedConversation,
  event: ReadEvent | ReceiptEvent,
  senderSeq: number | null,
  createdAt: number,
): NewMessage {
  return systemMessage({ from, to: ref.isGroup ? null : ref.conv, groupId: ref.isGroup ? ref.conv : null, event, senderSeq, createdAt });
}

/** Exactly one of `peer` and `groupId`, checked to exist. */
export function resolveConversation(ref: ConversationRef, peers: ConversationPeers): ResolvedConversation {
  const hasPeer = ref.peer !== undefined && ref.peer !== null;
  const hasGroup = ref.groupId !== undefined && ref.groupId !== null;
  if (hasPeer === hasGroup) invalid('exactly one of peer and groupId is required');
  if (hasPeer) {
    if (typeof ref.peer !== 'string' || !peers.userExists(ref.peer)) throw new CgiError('NO_SUCH_USER', 'no such user');
    return { conv: ref.peer, isGroup: false };
  }
  if (typeof ref.groupId !== 'string' || !peers.groupExists(ref.groupId)) throw new CgiError('NO_SUCH_GROUP', 'no such group');
  return { conv: ref.groupId, isGroup: true };
}

export class Conversations {
  private readonly list_: Statement<[{ uid: string; limit: number }], ListRow>;
  private readonly tailOf: Statement<[string, string], number>;

  constructor(
    db: Db,
    private readonly rows: ConversationRows,
    private readonly inbox: () => Inbox,
    private readonly messages: MessageRows,
    private readonly peers: ConversationPeers,
    private readonly chain: ConversationChain,
    /** False only to measure what keeping them costs (bench A/B): no row is written. */
    private readonly keep = true,
  ) {
    // Newest activity first. The user's rows are sorted whole (a top-k sort of (last_seq, conv)
    // only: no index to keep moving at every entry); the page's rows then join their last
    // message and their name (the peer's display name or username, the group's name).
    this.list_ = db
      .prepare<[{ uid: string; limit: number }], ListRow>(
        `SELECT c.last_seq, ${ENTRY_COLUMNS}, c.conv, c.is_group, c.read_seq, c.unread,
                CASE WHEN c.is_group THEN g.name ELSE COALESCE(u.display_name, u.username) END
           FROM (SELECT conv FROM conversations WHERE uid = @uid AND last_seq IS NOT NULL ORDER BY last_seq DESC LIMIT @limit) t
           JOIN conversations c ON c.uid = @uid AND c.conv = t.conv
           JOIN messages m ON m.id = c.last_msg_id
           LEFT JOIN users u ON u.uid = c.conv
           LEFT JOIN groups g ON g.group_id = c.conv
          ORDER BY c.last_seq DESC`,
      )
      .raw();
    this.tailOf = db.prepare<[string, string], number>('SELECT tail_seq FROM conversations WHERE uid = ? AND conv = ?').pluck();
  }

  /** An entry is being written into `owner`'s inbox (Inbox's listener): answers the conversation's previous entry. */
  entry(_tx: Tx, owner: string, seq: number, m: MessageFacts, conv: string | null): number | null {
    if (conv === null || !this.keep) return null;
    const was = this.rows.get(owner, conv);
    const next: ConversationState = was
      ? { ...was, tail: seq }
      : {
          isGroup: m.groupId !== null ? 1 : 0,
          tail: seq,
          lastSeq: null,
          lastMsgId: null,
          readSeq: 0,
          unread: 0,
          lastInSeq: null,
          lastInMsgId: null,
          receiptMsgId: null,
        };
    if (m.kind !== 'read' && m.kind !== 'receipt') {
      next.lastSeq = seq;
      next.lastMsgId = m.id;
      if (COUNTED.has(m.type) && m.from !== owner) {
        next.unread++;
        next.lastInSeq = seq;
        next.lastInMsgId = m.id;
      }
    }
    this.rows.set(owner, conv, next);
    return was ? was.tail : null;
  }

  /** The seq of the newest entry of a conversation in `uid`'s inbox (read outside transactions). */
  tail(uid: string, conv: string): number | undefined {
    return this.tailOf.get(uid, conv);
  }

  list(uid: string, limit: number): Conversation[] {
    return this.list_.all({ uid, limit }).map((r) => conversationOf(r, uid));
  }

  /**
   * Moves `uid`'s read position in a conversation forward to `seq` (at most the
   * conversation's lastSeq): recounts what stays unread, writes a `read` entry
   * for the user's other devices and, in a 1:1 conversation, a `receipt` to
   * the peer when the newest of the peer's messages now read changed.
   */
  markRead(tx: Tx, a: ConversationRef & { uid: string; seq: number }): { readSeq: number; unread: number } {
    if (!isIntIn(a.seq, 0, Number.MAX_SAFE_INTEGER)) invalid('seq must be a non-negative integer');
    const ref = resolveConversation(a, this.peers);
    const row = this.keep ? this.rows.get(a.uid, ref.conv) : null;
    if (!row || row.lastSeq === null) return { readSeq: row?.readSeq ?? 0, unread: row?.unread ?? 0 };
    const target = Math.min(a.seq, row.lastSeq);
    if (target <= row.readSeq) return { readSeq: row.readSeq, unread: row.unread };
    // Counted entries are never newer than lastInSeq: reading past it leaves nothing unread.
    const unread = row.lastInSeq === null || row.lastInSeq <= target ? 0 : this.countAfter(a.uid, row.tail, target);
    let receiptMsgId = row.receiptMsgId;
    let upTo: number | undefined;
    if (!ref.isGroup && ref.conv !== a.uid && row.lastInSeq !== null) {
      upTo = row.lastInSeq <= target ? row.lastInMsgId! : this.newestFrom(a.uid, row.tail, target, ref.conv);
      if (upTo === receiptMsgId) upTo = undefined;
      else if (upTo !== undefined) receiptMsgId = upTo;
    }
    this.rows.set(a.uid, ref.conv, { ...row, readSeq: target, unread, receiptMsgId });

    const read: ReadEvent = ref.isGroup ? { kind: 'read', groupId: ref.conv, seq: target } : { kind: 'read', peer: ref.conv, seq: target };
    const inbox = this.inbox();
    const seq = inbox.reserve(a.uid);
    inbox.put(tx, a.uid, seq, this.system(tx, a.uid, ref, read, seq));
    if (upTo !== undefined) {
      const receipt: ReceiptEvent = { kind: 'receipt', by: a.uid, upTo: msgIdOf(upTo) };
      inbox.append(tx, ref.conv, this.system(tx, a.uid, ref, receipt, null));
    }
    return { readSeq: target, unread };
  }

  /** Entries after `target` that count as unread: walks the conversation down from its newest entry. */
  private countAfter(uid: string, tail: number, target: number): number {
    let n = 0;
    for (const r of this.chain.walk(uid, tail)) {
      if (r[0] <= target) break;
      if (COUNTED.has(r[5]) && r[2] !== uid) n++;
    }
    return n;
  }

  /** The row id of the newest message of `peer` at or below `target`. */
  private newestFrom(uid: string, tail: number, target: number, peer: string): number | undefined {
    for (const r of this.chain.walk(uid, tail)) {
      if (r[0] <= target && r[2] === peer && COUNTED.has(r[5])) return r[1];
    }
    return undefined;
  }

  private system(tx: Tx, from: string, ref: ResolvedConversation, event: ReadEvent | ReceiptEvent, senderSeq: number | null): MessageFacts {
    tx.countSent('system');
    return this.messages.insert(conversationEvent(from, ref, event, senderSeq, tx.now));
  }
}
