/**
 * Conversations and unread counts (SPEC §6), kept incrementally: a row per
 * user and conversation, updated by every entry written into that user's inbox
 * in the same transaction (1:1 sends, group fan-out, system entries), so
 * listing conversations never scans an inbox.
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
import { StoreError, type Conversation, type ConversationRef, type ReadEvent, type ReceiptEvent } from './api.js';
import type { Inbox } from './inbox.js';
import type { MessageFacts, MessageRows } from './message-rows.js';
import type { ConversationChain } from './chain.js';
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

interface Row {
  tail_seq: number;
  last_seq: number | null;
  read_seq: number;
  unread: number;
  last_in_seq: number | null;
  last_in_msg_id: number | null;
  receipt_msg_id: number | null;
}

/** A listed row: the lastMessage's entry columns, then the conversation's own and its name. */
type ListRow = [...EntryRow, conv: string, isGroup: number, readSeq: number, unread: number, name: string | null];

/** Exactly one of `peer` and `groupId`, checked to exist. */
export function resolveConversation(ref: ConversationRef, peers: ConversationPeers): ResolvedConversation {
  const hasPeer = ref.peer !== undefined && ref.peer !== null;
  const hasGroup = ref.groupId !== undefined && ref.groupId !== null;
  if (hasPeer === hasGroup) invalid('exactly one of peer and groupId is required');
  if (hasPeer) {
    if (typeof ref.peer !== 'string' || !peers.userExists(ref.peer)) throw new StoreError('NO_SUCH_USER', 'no such user');
    return { conv: ref.peer, isGroup: false };
  }
  if (typeof ref.groupId !== 'string' || !peers.groupExists(ref.groupId)) throw new StoreError('NO_SUCH_GROUP', 'no such group');
  return { conv: ref.groupId, isGroup: true };
}

export class Conversations {
  private readonly s: ReturnType<typeof statements>;

  constructor(
    db: Db,
    private readonly inbox: () => Inbox,
    private readonly rows: MessageRows,
    private readonly peers: ConversationPeers,
    private readonly chain: ConversationChain,
    /** False only to measure what keeping them costs (bench A/B): no row is written. */
    private readonly keep = true,
  ) {
    this.s = statements(db);
  }

  /** An entry is being written into `owner`'s inbox (Inbox's listener): answers the conversation's previous entry. */
  entry(_tx: Tx, owner: string, seq: number, m: MessageFacts, conv: string | null): number | null {
    if (conv === null || !this.keep) return null;
    const prev = this.s.tail.get(owner, conv) ?? null;
    const isGroup = m.groupId !== null ? 1 : 0;
    if (m.kind === 'read' || m.kind === 'receipt') {
      this.s.upsertTail.run(owner, conv, isGroup, seq);
    } else {
      const counted = COUNTED.has(m.type) && m.from !== owner;
      this.s.upsert.run(owner, conv, isGroup, seq, seq, m.id, counted ? 1 : 0, counted ? seq : null, counted ? m.id : null);
    }
    return prev;
  }

  /** The seq of the newest entry of a conversation in `uid`'s inbox. */
  tail(uid: string, conv: string): number | undefined {
    return this.s.tail.get(uid, conv);
  }

  list(uid: string, limit: number): Conversation[] {
    const rows = this.s.list.all({ uid, limit });
    return rows.map((r) => {
      const [conv, isGroup, readSeq, unread, name] = r.slice(13) as [string, number, number, number, string | null];
      const lastMessage = toSyncMessage(r as unknown as EntryRow, uid, true);
      const c = (isGroup ? { groupId: conv } : { peer: conv }) as Conversation;
      c.name = name ?? conv;
      c.lastMessage = lastMessage;
      c.lastSeq = lastMessage.seq;
      c.readSeq = readSeq;
      c.unread = unread;
      return c;
    });
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
    const row = this.s.get.get(a.uid, ref.conv);
    if (!row || row.last_seq === null) return { readSeq: row?.read_seq ?? 0, unread: row?.unread ?? 0 };
    const target = Math.min(a.seq, row.last_seq);
    if (target <= row.read_seq) return { readSeq: row.read_seq, unread: row.unread };
    // Counted entries are never newer than last_in_seq: reading past it leaves nothing unread.
    const unread = row.last_in_seq === null || row.last_in_seq <= target ? 0 : this.countAfter(a.uid, row.tail_seq, target);
    this.s.setRead.run(target, unread, a.uid, ref.conv);

    const read: ReadEvent = ref.isGroup ? { kind: 'read', groupId: ref.conv, seq: target } : { kind: 'read', peer: ref.conv, seq: target };
    const inbox = this.inbox();
    const seq = inbox.reserve(a.uid);
    const m = this.system(tx, a.uid, ref, read, seq);
    inbox.put(tx, a.uid, seq, m);

    if (!ref.isGroup && ref.conv !== a.uid && row.last_in_seq !== null) {
      const upTo = row.last_in_seq <= target ? row.last_in_msg_id! : this.newestFrom(a.uid, row.tail_seq, target, ref.conv);
      if (upTo !== undefined && upTo !== row.receipt_msg_id) {
        const receipt: ReceiptEvent = { kind: 'receipt', by: a.uid, upTo: msgIdOf(upTo) };
        inbox.append(tx, ref.conv, this.system(tx, a.uid, ref, receipt, null));
        this.s.setReceipt.run(upTo, a.uid, ref.conv);
      }
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
    return this.rows.insert({
      from,
      to: ref.isGroup ? null : ref.conv,
      groupId: ref.isGroup ? ref.conv : null,
      type: 'system',
      content: null,
      mediaId: null,
      durationMs: null,
      event,
      clientMsgId: null,
      senderSeq,
      createdAt: tx.now,
    });
  }
}

function statements(db: Db) {
  return {
    tail: db.prepare<[string, string], number>('SELECT tail_seq FROM conversations WHERE uid = ? AND conv = ?').pluck(),
    upsert: db.prepare<[string, string, number, number, number, number, number, number | null, number | null]>(
      `INSERT INTO conversations (uid, conv, is_group, tail_seq, last_seq, last_msg_id, unread, last_in_seq, last_in_msg_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (uid, conv) DO UPDATE SET
         tail_seq = excluded.tail_seq,
         last_seq = excluded.last_seq,
         last_msg_id = excluded.last_msg_id,
         unread = unread + excluded.unread,
         last_in_seq = COALESCE(excluded.last_in_seq, last_in_seq),
         last_in_msg_id = COALESCE(excluded.last_in_msg_id, last_in_msg_id)`,
    ),
    upsertTail: db.prepare<[string, string, number, number]>(
      `INSERT INTO conversations (uid, conv, is_group, tail_seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (uid, conv) DO UPDATE SET tail_seq = excluded.tail_seq`,
    ),
    get: db.prepare<[string, string], Row>(
      `SELECT tail_seq, last_seq, read_seq, unread, last_in_seq, last_in_msg_id, receipt_msg_id FROM conversations WHERE uid = ? AND conv = ?`,
    ),
    // Newest activity first. The user's rows are sorted whole (a top-k sort of (last_seq, conv)
    // only: no index to keep moving at every entry); the page's rows then join their last
    // message and their name (the peer's display name or username, the group's name).
    list: db
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
      .raw(),
    setRead: db.prepare<[number, number, string, string]>('UPDATE conversations SET read_seq = ?, unread = ? WHERE uid = ? AND conv = ?'),
    setReceipt: db.prepare<[number, string, string]>('UPDATE conversations SET receipt_msg_id = ? WHERE uid = ? AND conv = ?'),
  };
}
