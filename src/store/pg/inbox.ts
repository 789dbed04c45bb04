/**
 * Inboxes on PostgreSQL (PgInboxPart): the SQLite engine's inbox.ts,
 * conversation-rows.ts, conversations.ts (the entry listener) and chain.ts, as
 * SQL. A seq is taken from `inbox_heads` by an upsert that locks the inbox's
 * row until the transaction ends, so concurrent writers to one inbox (on any
 * host) take turns and a rolled-back one leaves no hole. An entry, its `prev`
 * link and its conversation row are written by one statement: the owner's
 * head is locked, so no other transaction changes that conversation row
 * meanwhile (markRead takes the same lock before it reads the row).
 */
import type { SyncMessage, SyncResult } from '../api.js';
import type { MessageFacts } from '../message-rows.js';
import { ENTRY_COLUMNS, toSyncMessage, type EntryRow } from '../message-view.js';
import type { ChainRow } from '../chain.js';
import { conversationOf } from '../inbox.js';
import { mapError, type PgDb, type PgTx } from './db.js';
import type { PgInboxPart } from './parts.js';

const COUNTED = ['text', 'voice', 'image', 'video'];

/** Rows of a read as arrays (the order of the SELECT), errors mapped as PgDb.query does. */
export async function arrayRows<R extends unknown[]>(db: PgDb, text: string, values: unknown[]): Promise<R[]> {
  try {
    return (await db.pool.query<R>({ text, values, rowMode: 'array' })).rows;
  } catch (err) {
    throw mapError(err);
  }
}

export interface PgInboxHooks {
  /** Whether a sync of `uid` is held on this host (woken at once after a local commit, without waiting for NOTIFY). */
  watched(uid: string): boolean;
  /** After a local commit: the entries of `uid` are readable. */
  committed(uid: string): void;
  /** Counts an entry written (stats), after commit. */
  entry(): void;
}

export class PgInbox implements PgInboxPart {
  constructor(
    private readonly db: PgDb,
    private readonly hooks: PgInboxHooks,
    /** False only to measure what keeping conversation rows costs: no row is written. */
    private readonly keepConversations = true,
  ) {}

  async append(tx: PgTx, uid: string, m: MessageFacts): Promise<number> {
    const seq = await this.reserve(tx, uid);
    await this.put(tx, uid, seq, m);
    return seq;
  }

  async reserve(tx: PgTx, uid: string): Promise<number> {
    return (await this.reserveMany(tx, [uid]))[0]!;
  }

  async reserveMany(tx: PgTx, uids: readonly string[]): Promise<number[]> {
    if (uids.length === 0) return [];
    // Locked in byte order of the uid (COLLATE "C"), whatever order the caller has: two writers never wait on each other in a circle.
    const sorted = [...new Set(uids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (sorted.length !== uids.length) throw new Error('reserveMany: uids must be distinct');
    const { rows } = await tx.query<{ uid: string; last_seq: number }>(
      `INSERT INTO inbox_heads (uid, last_seq) SELECT u, 1 FROM unnest($1::text[]) WITH ORDINALITY AS t(u, n) ORDER BY n
       ON CONFLICT (uid) DO UPDATE SET last_seq = inbox_heads.last_seq + 1
       RETURNING uid, last_seq`,
      [sorted],
    );
    const by = new Map(rows.map((r) => [r.uid, r.last_seq]));
    return uids.map((u) => by.get(u)!);
  }

  async put(tx: PgTx, uid: string, seq: number, m: MessageFacts): Promise<void> {
    const conv = this.keepConversations ? conversationOf(m, uid) : null;
    // conversations.ts's entry(): last_* unless read/receipt; last_in_* and unread when it counts (schema.ts, version 3).
    const last = m.kind !== 'read' && m.kind !== 'receipt';
    const counted = last && COUNTED.includes(m.type) && m.from !== uid;
    await tx.query('SELECT cgihost_put_entry($1, $2, $3, $4, $5, $6, $7)', [uid, conv, m.groupId !== null, seq, m.id, last, counted]);
    tx.wake(uid);
    tx.after(() => this.committed([uid]));
  }

  /** After the commit of entries of these inboxes (put's, or a server-side function's: messages.ts sendDirect). */
  committed(uids: readonly string[]): void {
    for (const uid of uids) {
      this.hooks.entry();
      if (this.hooks.watched(uid)) this.hooks.committed(uid);
    }
  }

  /** Whether entries are written with their conversation rows (false only in a measurement). */
  get keepsConversations(): boolean {
    return this.keepConversations;
  }

  async read(uid: string, syncKey: number, limit: number): Promise<SyncResult> {
    const rows = await arrayRows<EntryRow>(
      this.db,
      `SELECT i.seq, ${ENTRY_COLUMNS}
         FROM inbox i JOIN messages m ON m.id = i.msg_id
        WHERE i.uid = $1 AND i.seq > $2
        ORDER BY i.seq LIMIT $3`,
      [uid, syncKey, limit + 1],
    );
    const continueFlag = rows.length > limit;
    if (continueFlag) rows.pop();
    const messages: SyncMessage[] = rows.map((r) => toSyncMessage(r, uid));
    return { messages, syncKey: rows.length > 0 ? rows[rows.length - 1]![0] : syncKey, continueFlag };
  }

  async lastSeq(uid: string): Promise<number> {
    const rows = await this.db.query<{ last_seq: number }>('SELECT last_seq FROM inbox_heads WHERE uid = $1', [uid]);
    return rows[0]?.last_seq ?? 0;
  }

  /** Every inbox holding message `msgRowId` (a recall reaches them all). */
  async holders(tx: PgTx, msgRowId: number): Promise<Array<{ uid: string; seq: number }>> {
    return (await tx.query<{ uid: string; seq: number }>('SELECT uid, seq FROM inbox WHERE msg_id = $1', [msgRowId])).rows;
  }

  // The conversation chain (chain.ts): entries linked by `prev`.

  async entry(uid: string, seq: number): Promise<ChainRow | undefined> {
    const rows = await arrayRows<ChainRow>(
      this.db,
      `SELECT i.seq, ${ENTRY_COLUMNS}, i.prev FROM inbox i JOIN messages m ON m.id = i.msg_id WHERE i.uid = $1 AND i.seq = $2`,
      [uid, seq],
    );
    return rows[0];
  }

  /** Up to `n` entries from `seq` (included) back, newest first: the links are followed inside PostgreSQL. */
  async page(uid: string, seq: number, n: number): Promise<ChainRow[]> {
    return arrayRows<ChainRow>(
      this.db,
      `WITH RECURSIVE chain(seq, k) AS (
         SELECT $2::bigint, 1
         UNION ALL
         SELECT i.prev, chain.k + 1 FROM chain JOIN inbox i ON i.uid = $1 AND i.seq = chain.seq
          WHERE i.prev IS NOT NULL AND chain.k < $3
       )
       SELECT i.seq, ${ENTRY_COLUMNS}, i.prev
         FROM chain JOIN inbox i ON i.uid = $1 AND i.seq = chain.seq JOIN messages m ON m.id = i.msg_id
        ORDER BY chain.k`,
      [uid, seq, n],
    );
  }

  /** The entries from `seq` back to the conversation's first, a page per query (for walks that stop early). */
  async *walk(uid: string, seq: number | null): AsyncGenerator<ChainRow> {
    let n = 16;
    for (let at = seq; at !== null;) {
      const rows = await this.page(uid, at, n);
      if (rows.length === 0) return;
      yield* rows;
      at = rows.length < n ? null : rows[rows.length - 1]![13];
      n = Math.min(n * 4, 1024);
    }
  }

  /** The newest entry of the chain from `seq` down whose seq is below `below` (null: none). */
  async firstBelow(uid: string, seq: number | null, below: number): Promise<number | null> {
    for await (const r of this.walk(uid, seq)) if (r[0] < below) return r[0];
    return null;
  }
}
