/**
 * The messages table: every message stored once, 1:1, group or system.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { MessageType, SystemEvent, SystemEventKind } from './api.js';

/** What filing an entry of a message needs to know of it (its conversation, whether it counts as unread). */
export interface MessageFacts {
  id: number;
  from: string;
  to: string | null;
  groupId: string | null;
  type: MessageType;
  /** A system message's event kind. */
  kind: SystemEventKind | null;
}

/** A stored message as recall and the fan-out see it. */
export interface StoredMessage extends MessageFacts {
  mediaId: string | null;
  createdAt: number;
  recalledAt: number | null;
}

export interface NewMessage {
  from: string;
  to: string | null;
  groupId: string | null;
  type: MessageType;
  content: string | null;
  mediaId: string | null;
  durationMs: number | null;
  event: SystemEvent | null;
  clientMsgId: string | null;
  senderSeq: number | null;
  createdAt: number;
}

/** A system message's row: no content, media or clientMsgId; `to` a user, or `groupId` a group. */
export function systemMessage(
  m: Pick<NewMessage, 'from' | 'to' | 'groupId' | 'senderSeq' | 'createdAt'> & { event: SystemEvent },
): NewMessage {
  return { ...m, type: 'system', content: null, mediaId: null, durationMs: null, clientMsgId: null };
}

type MessageValues = [
  string,
  string | null,
  string | null,
  string,
  string | null,
  string | null,
  number | null,
  string | null,
  string | null,
  number | null,
  number,
];

/**
 * A new message's column values in the order both engines' inserts name them:
 * from, to, group, type, content, media, duration, event (JSON), clientMsgId,
 * sender seq, created at.
 */
export function messageValues(m: NewMessage): MessageValues {
  return [
    m.from,
    m.to,
    m.groupId,
    m.type,
    m.content,
    m.mediaId,
    m.durationMs,
    m.event === null ? null : JSON.stringify(m.event),
    m.clientMsgId,
    m.senderSeq,
    m.createdAt,
  ];
}

/** What filing a stored message's entries needs. */
export function messageFacts(id: number, m: NewMessage): MessageFacts {
  return { id, from: m.from, to: m.to, groupId: m.groupId, type: m.type, kind: m.event?.kind ?? null };
}

/** What an idempotent retry is compared with, and answered from. */
export interface SentRow {
  id: number;
  to_uid: string | null;
  group_id: string | null;
  type: string;
  content: string | null;
  media_id: string | null;
  duration_ms: number | null;
  sender_seq: number;
  created_at: number;
  recalled_at: number | null;
}

interface StoredRow {
  id: number;
  from_uid: string;
  to_uid: string | null;
  group_id: string | null;
  type: MessageType;
  kind: SystemEventKind | null;
  media_id: string | null;
  created_at: number;
  recalled_at: number | null;
}

export class MessageRows {
  private readonly insertRow: Statement<MessageValues>;
  private readonly byClientId: Statement<[string, string], SentRow>;
  private readonly byId: Statement<[number], StoredRow>;
  private readonly markRecalled: Statement<[number, number]>;

  constructor(db: Db) {
    this.insertRow = db.prepare(
      `INSERT INTO messages (from_uid, to_uid, group_id, type, content, media_id, duration_ms, event,
                             client_msg_id, sender_seq, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byClientId = db.prepare(
      `SELECT id, to_uid, group_id, type, content, media_id, duration_ms, sender_seq, created_at, recalled_at
         FROM messages WHERE from_uid = ? AND client_msg_id = ?`,
    );
    this.byId = db.prepare(
      `SELECT id, from_uid, to_uid, group_id, type, event ->> '$.kind' AS kind, media_id, created_at, recalled_at
         FROM messages WHERE id = ?`,
    );
    // The payload goes: the server keeps nothing of a message it may never show again.
    this.markRecalled = db.prepare('UPDATE messages SET recalled_at = ?, content = NULL, media_id = NULL, duration_ms = NULL WHERE id = ?');
  }

  /** Inserts a message; returns what filing its entries needs. */
  insert(m: NewMessage): MessageFacts {
    const r = this.insertRow.run(...messageValues(m));
    return messageFacts(Number(r.lastInsertRowid), m);
  }

  get(id: number): StoredMessage | undefined {
    const r = this.byId.get(id);
    if (!r) return undefined;
    return {
      id: r.id,
      from: r.from_uid,
      to: r.to_uid,
      groupId: r.group_id,
      type: r.type,
      kind: r.kind,
      mediaId: r.media_id,
      createdAt: r.created_at,
      recalledAt: r.recalled_at,
    };
  }

  recall(id: number, now: number): void {
    this.markRecalled.run(now, id);
  }

  findByClientId(from: string, clientMsgId: string): SentRow | undefined {
    return this.byClientId.get(from, clientMsgId);
  }
}
