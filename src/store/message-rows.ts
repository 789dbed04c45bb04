/**
 * The messages table: every message stored once, 1:1, group or system.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { MessageType, SystemEvent } from './api.js';

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
}

type InsertArgs = [
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

export class MessageRows {
  private readonly insertRow: Statement<InsertArgs>;
  private readonly byClientId: Statement<[string, string], SentRow>;

  constructor(db: Db) {
    this.insertRow = db.prepare(
      `INSERT INTO messages (from_uid, to_uid, group_id, type, content, media_id, duration_ms, event,
                             client_msg_id, sender_seq, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byClientId = db.prepare(
      `SELECT id, to_uid, group_id, type, content, media_id, duration_ms, sender_seq, created_at
         FROM messages WHERE from_uid = ? AND client_msg_id = ?`,
    );
  }

  /** Inserts a message; returns its row id. */
  insert(m: NewMessage): number {
    const r = this.insertRow.run(
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
    );
    return Number(r.lastInsertRowid);
  }

  findByClientId(from: string, clientMsgId: string): SentRow | undefined {
    return this.byClientId.get(from, clientMsgId);
  }
}
