/**
 * The messages table on PostgreSQL (PgMessagesPart): message-rows.ts as SQL.
 * Each message once; (from_uid, client_msg_id) is unique, and an insert that
 * meets a row another transaction committed with the same key says so
 * (`insertOnce` answers null) instead of failing the transaction.
 */
import type { Queryable } from './schema.js';
import { mapError, type PgDb, type PgTx } from './db.js';
import type { PgMessagesPart } from './parts.js';
import type { MessageFacts, NewMessage, SentRow, StoredMessage } from '../message-rows.js';
import type { MessageType, SystemEventKind } from '../api.js';

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
  [k: string]: unknown;
}

const INSERT = `INSERT INTO messages (from_uid, to_uid, group_id, type, content, media_id, duration_ms, event,
                                     client_msg_id, sender_seq, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

export class PgMessages implements PgMessagesPart {
  constructor(
    private readonly db: PgDb,
    /** A message of this type was stored (stats), after commit. */
    private readonly sent: (type: string) => void,
  ) {}

  async insert(tx: PgTx, m: NewMessage): Promise<MessageFacts> {
    const { rows } = await tx.query<{ id: number }>(`${INSERT} RETURNING id`, values(m));
    tx.after(() => this.sent(m.type));
    return facts(rows[0]!.id, m);
  }

  /**
   * Inserts a message with a clientMsgId; null when one with the same sender
   * and clientMsgId is already committed (a concurrent duplicate: the caller
   * answers the first answer). Waits for a concurrent insert of the same key
   * to end first (the unique index does).
   */
  async insertOnce(tx: PgTx, m: NewMessage): Promise<MessageFacts | null> {
    const { rows } = await tx.query<{ id: number }>(
      `${INSERT} ON CONFLICT (from_uid, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING RETURNING id`,
      values(m),
    );
    if (rows.length === 0) return null;
    tx.after(() => this.sent(m.type));
    return facts(rows[0]!.id, m);
  }

  async get(id: number, q: Queryable = this.db.pool as Queryable): Promise<StoredMessage | undefined> {
    const { rows } = await q
      .query<StoredRow>(
        `SELECT id, from_uid, to_uid, group_id, type, (event::json ->> 'kind') AS kind, media_id, created_at, recalled_at
           FROM messages WHERE id = $1`,
        [id],
      )
      .catch(rethrow);
    const r = rows[0];
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

  /** The payload goes: the server keeps nothing of a message it may never show again. */
  async recall(tx: PgTx, id: number): Promise<void> {
    await tx.query('UPDATE messages SET recalled_at = $1, content = NULL, media_id = NULL, duration_ms = NULL WHERE id = $2', [tx.now, id]);
  }

  async findByClientId(from: string, clientMsgId: string, q: Queryable = this.db.pool as Queryable): Promise<SentRow | undefined> {
    const { rows } = await q
      .query<SentRow & Record<string, unknown>>(
        `SELECT id, to_uid, group_id, type, content, media_id, duration_ms, sender_seq, created_at, recalled_at
           FROM messages WHERE from_uid = $1 AND client_msg_id = $2`,
        [from, clientMsgId],
      )
      .catch(rethrow);
    return rows[0];
  }
}

function values(m: NewMessage): unknown[] {
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

function facts(id: number, m: NewMessage): MessageFacts {
  return { id, from: m.from, to: m.to, groupId: m.groupId, type: m.type, kind: m.event?.kind ?? null };
}

function rethrow(err: unknown): never {
  throw mapError(err);
}
