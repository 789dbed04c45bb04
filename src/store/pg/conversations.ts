/**
 * Conversations, history and recall on PostgreSQL: conversations.ts,
 * history.ts and recall.ts as SQL, on the rows PgInbox keeps.
 */
import { CgiError } from '../../errors.js';
import type { Conversation, ConversationRef, ReadEvent, ReceiptEvent, RecalledEvent, SyncMessage } from '../api.js';
import { ConversationChain, PREV } from '../chain.js';
import { conversationEvent, conversationOf, resolveConversation, type ResolvedConversation } from '../conversations.js';
import { systemMessage, type MessageFacts } from '../message-rows.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from '../message-view.js';
import { msgIdOf, rowIdOf } from '../ids.js';
import { invalid, isIntIn } from '../validate.js';
import type { RecallFanoutJob } from '../queue/fanout.js';
import type { PgDb, PgTx } from './db.js';
import { arrayRows, type PgInbox } from './inbox.js';
import type { PgMessages } from './messages.js';
import type { PgMedia } from './media.js';
import type { PgFanoutPart } from './parts.js';
import type { PgAccounts } from './accounts.js';
import type { Queryable } from './schema.js';

const COUNTED = new Set<string>(['text', 'voice', 'image', 'video']);

type ListRow = [...EntryRow, conv: string, isGroup: boolean, readSeq: number, unread: number, name: string | null];

interface ConvRow {
  tail_seq: number;
  last_seq: number | null;
  read_seq: number;
  unread: number;
  last_in_seq: number | null;
  last_in_msg_id: number | null;
  receipt_msg_id: number | null;
  [k: string]: unknown;
}

export class PgConversations {
  constructor(
    private readonly db: PgDb,
    private readonly inbox: PgInbox,
    private readonly messages: PgMessages,
    private readonly accounts: PgAccounts,
    private readonly media: PgMedia,
    private readonly fanout: PgFanoutPart,
    private readonly recallWindowMs: number,
    private readonly keep = true,
  ) {}

  /** Exactly one of peer and groupId, checked to exist (resolveConversation, with existence asked of PostgreSQL first). */
  async resolve(ref: ConversationRef, q: Queryable | PgDb = this.db): Promise<ResolvedConversation> {
    const peer = typeof ref?.peer === 'string' && (await this.accounts.exists(ref.peer, q));
    let group = false;
    if (typeof ref?.groupId === 'string') {
      const r = await q.query('SELECT 1 FROM groups WHERE group_id = $1', [ref.groupId]);
      group = (Array.isArray(r) ? r : r.rows).length > 0;
    }
    return resolveConversation(ref, { userExists: () => peer, groupExists: () => group });
  }

  async list(uid: string, limit: number): Promise<Conversation[]> {
    const rows = await arrayRows<ListRow>(
      this.db,
      `SELECT c.last_seq, ${ENTRY_COLUMNS}, c.conv, c.is_group, c.read_seq, c.unread,
              CASE WHEN c.is_group THEN g.name ELSE COALESCE(u.display_name, u.username) END
         FROM (SELECT conv FROM conversations WHERE uid = $1 AND last_seq IS NOT NULL ORDER BY last_seq DESC LIMIT $2) t
         JOIN conversations c ON c.uid = $1 AND c.conv = t.conv
         JOIN messages m ON m.id = c.last_msg_id
         LEFT JOIN users u ON u.uid = c.conv
         LEFT JOIN groups g ON g.group_id = c.conv
        ORDER BY c.last_seq DESC`,
      [uid, limit],
    );
    return rows.map((r) => conversationOf(r, uid));
  }

  /** conversations.ts's markRead: the owner's inbox head is locked first, so the row cannot move under it. */
  async markRead(tx: PgTx, a: ConversationRef & { uid: string; seq: number }): Promise<{ readSeq: number; unread: number }> {
    if (!isIntIn(a.seq, 0, Number.MAX_SAFE_INTEGER)) invalid('seq must be a non-negative integer');
    const ref = await this.resolve(a, tx);
    if (typeof a.uid !== 'string') invalid('uid is required');
    const uids = !ref.isGroup && ref.conv !== a.uid ? [a.uid, ref.conv] : [a.uid];
    // Both heads are taken up front (in uid order); a markRead that writes nothing rolls them back.
    const seqs = await this.inbox.reserveMany(tx, uids);
    const { rows } = this.keep
      ? await tx.query<ConvRow>(
          `SELECT tail_seq, last_seq, read_seq, unread, last_in_seq, last_in_msg_id, receipt_msg_id
             FROM conversations WHERE uid = $1 AND conv = $2`,
          [a.uid, ref.conv],
        )
      : { rows: [] as ConvRow[] };
    const row = rows[0];
    if (!row || row.last_seq === null) throw new Unchanged({ readSeq: row?.read_seq ?? 0, unread: row?.unread ?? 0 });
    const target = Math.min(a.seq, row.last_seq);
    if (target <= row.read_seq) throw new Unchanged({ readSeq: row.read_seq, unread: row.unread });
    const unread = row.last_in_seq === null || row.last_in_seq <= target ? 0 : await this.countAfter(a.uid, row.tail_seq, target);
    let receiptMsgId = row.receipt_msg_id;
    let upTo: number | undefined;
    if (!ref.isGroup && ref.conv !== a.uid && row.last_in_seq !== null) {
      upTo = row.last_in_seq <= target ? row.last_in_msg_id! : await this.newestFrom(a.uid, row.tail_seq, target, ref.conv);
      if (upTo === receiptMsgId) upTo = undefined;
      else if (upTo !== undefined) receiptMsgId = upTo;
    }
    await tx.query('UPDATE conversations SET read_seq = $3, unread = $4, receipt_msg_id = $5 WHERE uid = $1 AND conv = $2', [
      a.uid,
      ref.conv,
      target,
      unread,
      receiptMsgId,
    ]);
    const read: ReadEvent = ref.isGroup ? { kind: 'read', groupId: ref.conv, seq: target } : { kind: 'read', peer: ref.conv, seq: target };
    await this.inbox.put(tx, a.uid, seqs[0]!, await this.system(tx, a.uid, ref, read, seqs[0]!));
    if (upTo !== undefined) {
      const receipt: ReceiptEvent = { kind: 'receipt', by: a.uid, upTo: msgIdOf(upTo) };
      await this.inbox.put(tx, ref.conv, seqs[1]!, await this.system(tx, a.uid, ref, receipt, null));
    } else if (seqs.length > 1) {
      // The peer's seq was taken for a receipt that is not needed: give it back (the head is still locked by this transaction).
      await tx.query('UPDATE inbox_heads SET last_seq = last_seq - 1 WHERE uid = $1', [ref.conv]);
    }
    return { readSeq: target, unread };
  }

  /** Entries after `target` that count as unread: walks the conversation down from its newest entry. */
  private async countAfter(uid: string, tail: number, target: number): Promise<number> {
    let n = 0;
    for await (const r of this.inbox.walk(uid, tail)) {
      if (r[0] <= target) break;
      if (COUNTED.has(r[5]) && r[2] !== uid) n++;
    }
    return n;
  }

  private async newestFrom(uid: string, tail: number, target: number, peer: string): Promise<number | undefined> {
    for await (const r of this.inbox.walk(uid, tail)) {
      if (r[0] <= target && r[2] === peer && COUNTED.has(r[5])) return r[1];
    }
    return undefined;
  }

  private system(tx: PgTx, from: string, ref: ResolvedConversation, event: ReadEvent | ReceiptEvent, senderSeq: number | null) {
    return this.messages.insert(tx, conversationEvent(from, ref, event, senderSeq, tx.now));
  }

  // history (history.ts)

  async history(
    uid: string,
    conv: string,
    beforeSeq: number | undefined,
    limit: number,
  ): Promise<{ messages: SyncMessage[]; more: boolean }> {
    const start = await this.start(uid, conv, beforeSeq);
    if (start === null) return { messages: [], more: false };
    const rows = await this.inbox.page(uid, start, limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { messages: rows.map((r) => toSyncMessage(r as unknown as EntryRow, uid)), more };
  }

  private async start(uid: string, conv: string, beforeSeq: number | undefined): Promise<number | null> {
    const rows = await this.db.query<{ tail_seq: number }>('SELECT tail_seq FROM conversations WHERE uid = $1 AND conv = $2', [uid, conv]);
    const tail = rows[0]?.tail_seq;
    if (tail === undefined) return null;
    if (beforeSeq === undefined || beforeSeq > tail) return tail;
    const at = await this.inbox.entry(uid, beforeSeq);
    if (at && ConversationChain.inConversation(at, uid, conv)) return at[PREV];
    return this.inbox.firstBelow(uid, tail, beforeSeq);
  }

  // recall (recall.ts)

  async recall(tx: PgTx, a: { uid: string; msgId: string }): Promise<{ recalled: true }> {
    if (typeof a.uid !== 'string') invalid('uid is required');
    const id = rowIdOf(a.msgId);
    const m = id === null ? undefined : await this.messages.get(id, tx);
    if (!m) throw new CgiError('NO_SUCH_MESSAGE', 'no such message');
    if (m.from !== a.uid || m.type === 'system') throw new CgiError('FORBIDDEN', 'only its sender may recall a message');
    // The recaller's head first: two recalls of one message take turns, and the second sees it recalled.
    const uids = m.groupId === null && m.to !== null && m.to !== a.uid ? [a.uid, m.to] : [a.uid];
    const seqs = await this.inbox.reserveMany(tx, uids);
    const now = await this.messages.get(m.id, tx);
    if (now!.recalledAt !== null) throw new Unchanged({ recalled: true });
    if (tx.now - m.createdAt > this.recallWindowMs) {
      throw new CgiError('RECALL_WINDOW_PASSED', `a message can be recalled within ${this.recallWindowMs} ms of sending`, {
        recallWindowMs: this.recallWindowMs,
      });
    }
    await this.messages.recall(tx, m.id);
    if (m.mediaId !== null) await this.media.revokeVia(tx, m.mediaId, m.id);
    const event: RecalledEvent = { kind: 'recalled', msgId: msgIdOf(m.id), by: a.uid };
    const sys = await this.messages.insert(
      tx,
      systemMessage({ from: a.uid, to: m.to, groupId: m.groupId, event, senderSeq: seqs[0]!, createdAt: tx.now }),
    );
    await this.inbox.put(tx, a.uid, seqs[0]!, sys);
    if (m.groupId !== null) {
      const job: RecallFanoutJob = { k: 'recall', m: sys.id, r: m.id, x: a.uid };
      await this.fanout.enqueue(tx, m.groupId, job);
    } else if (seqs.length > 1) {
      await this.inbox.put(tx, m.to!, seqs[1]!, sys);
    }
    return { recalled: true };
  }

  /** The fan-out of a group recall: one `recalled` entry in every other inbox holding the message. */
  async deliverRecall(tx: PgTx, job: RecallFanoutJob): Promise<number> {
    const sys = await this.messages.get(job.m, tx);
    if (!sys) throw new Error(`recall job: no system message ${job.m}`);
    const holders = (await this.inbox.holders(tx, job.r)).map((h) => h.uid).filter((u) => u !== job.x);
    const uniq = [...new Set(holders)];
    const seqs = await this.inbox.reserveMany(tx, uniq);
    for (let i = 0; i < uniq.length; i++) await this.inbox.put(tx, uniq[i]!, seqs[i]!, sys as MessageFacts);
    return uniq.length;
  }
}

/** An operation that writes nothing: the transaction is rolled back (seqs taken up front go back) and this is the answer. */
export class Unchanged<T> {
  constructor(readonly answer: T) {}
}
