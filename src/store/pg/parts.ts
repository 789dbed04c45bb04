/**
 * How the PostgreSQL engine's parts call each other (declarations only), so
 * that each part is written and tested on its own: the inbox (inbox.ts: where
 * dense seqs are made and conversation rows kept), message rows
 * (messages.ts), webhooks (webhooks.ts: enqueued in the caller's transaction,
 * delivered by whichever host claims the job), and the held syncs' wake-up
 * bus (wake-bus.ts: LISTEN on a dedicated connection).
 */
import type { SyncResult } from '../api.js';
import type { MessageFacts, NewMessage, StoredMessage } from '../message-rows.js';
import type { PgTx } from './db.js';
import type { FanoutJob } from '../queue/fanout.js';

/** Inboxes on PostgreSQL: seqs from `inbox_heads`, taken by a row lock in the entry's transaction. */
export interface PgInboxPart {
  /**
   * Appends the next entry of `uid`'s inbox (its seq: inbox_heads.last_seq + 1,
   * the row locked until the transaction ends), keeps the conversation row,
   * and asks for a wake-up of `uid` at commit. Returns the seq.
   */
  append(tx: PgTx, uid: string, m: MessageFacts): Promise<number>;
  /** Entries of `uid` after `syncKey`, at most `limit` (committed ones: READ COMMITTED). */
  read(uid: string, syncKey: number, limit: number): Promise<SyncResult>;
  /** The last seq of `uid`'s inbox (0 when empty). */
  lastSeq(uid: string): Promise<number>;
  /**
   * Added: takes the next seq of `uid` (locking its head until the transaction
   * ends) without writing the entry yet, for a message row that records its
   * sender's seq; `put` writes the entry in the same transaction.
   */
  reserve(tx: PgTx, uid: string): Promise<number>;
  /** Added: the next seq of each of `uids` (distinct), their heads locked in uid order (no deadlock between writers); in the order given. */
  reserveMany(tx: PgTx, uids: readonly string[]): Promise<number[]>;
  /** Added: writes the entry of a seq taken with reserve (conversation row, `prev`, wake-up), as append does. */
  put(tx: PgTx, uid: string, seq: number, m: MessageFacts): Promise<void>;
}

/** Message rows: each message once. */
export interface PgMessagesPart {
  insert(tx: PgTx, m: NewMessage): Promise<MessageFacts>;
  get(id: number): Promise<StoredMessage | undefined>;
}

/**
 * Added: group fan-out jobs. A job's key is its group id, so jobs of one group
 * run one at a time in the order they were made (a recall after the message it
 * recalls), on whichever host claims them.
 */
export interface PgFanoutPart {
  /** Enqueues the job in `tx` (and, for a message job, holds its membership version); the local worker is woken at commit. */
  enqueue(tx: PgTx, groupId: string, job: FanoutJob): Promise<void>;
}

/** Webhook events: `emit` enqueues one job per endpoint that listens, in the caller's transaction. */
export interface WebhookSink {
  wants(event: string): boolean;
  emit(tx: PgTx, event: string, payload: unknown): Promise<void>;
}

/** Wake-ups of held syncs across hosts. */
export interface WakeBus {
  /** Called with the uids of every inbox another (or this) host wrote to; and with null after a reconnect (re-read every held sync). */
  onWake(fn: (uids: string[] | null) => void): void;
  /** Called with the new sessions epoch when any host revoked a session. */
  onRevoke(fn: (epoch: number) => void): void;
  /** Called with a uid whose account any host disabled or whose password it reset: its held syncs end. */
  onRelease(fn: (uid: string) => void): void;
  close(): Promise<void>;
}
