/**
 * Messages on the store thread's ports. Each CGI worker gets its own
 * MessagePort straight to the store thread (no hop through the main thread);
 * the main thread keeps one control port (the thread's parentPort). On a
 * worker's port each postMessage carries an array of these, both ways: what
 * one event-loop turn produced (see Outbox).
 */
import type { ErrorCode } from '../errors.js';
import type { Level } from '../log.js';
import type { StoreOp } from './api.js';
import type { StoreAdminOp } from './admin-api.js';

/** CGI worker -> store thread, on a worker's own port. */
export type StoreRequest =
  | { t: 'call'; id: number; op: StoreOp; args: unknown; requestId: string }
  /** The request went away (client closed, timeout): end any held long-poll of it at once. */
  | { t: 'cancel'; requestId: string };

/** store thread -> CGI worker. */
export type StoreResponse =
  /** `heldMs`: the call was a long-poll held this long waiting for an entry. */
  | { t: 'result'; id: number; ok: true; value: unknown; heldMs?: number }
  | { t: 'result'; id: number; ok: false; error: { code: ErrorCode; message: string; details?: unknown } };

export interface StoreStats {
  /** Jobs not yet done, per topic (fanout, webhook, ...). */
  queueDepth: Record<string, number>;
  /** Age in seconds of the oldest job not yet done, per topic (0 when empty). */
  queueLagSeconds: Record<string, number>;
  /** Retries scheduled since the store opened, per topic. */
  queueRetries: Record<string, number>;
  /** Dead-lettered jobs kept in the table, per topic. */
  queueDeadLetters: Record<string, number>;
  syncWaiters: number;
  /** Messages stored since the store opened, per type (text, voice, image, video, system). */
  messagesSent: Record<string, number>;
  /** Inbox entries written since the store opened (senders', recipients' and fan-out). */
  inboxEntriesWritten: number;
  /** Transactions committed since the store opened (each one fsync at synchronous=FULL). */
  commits: number;
  /** When writes began to fail on the disk (epoch ms: full, read-only; SPEC §10), or 0 while they work. */
  writesFailingSince: number;
}

/** main thread -> store thread, on its parentPort. */
export type StoreControl =
  | { t: 'attach'; port: import('node:worker_threads').MessagePort }
  | { t: 'stats'; id: number }
  | { t: 'close'; id: number }
  /** Answer every held long-poll now, with an empty list (graceful stop, before draining HTTP). */
  | { t: 'releaseWaiters'; id: number }
  /** An event to deliver to configured webhooks through the queue (alerts, for one). */
  | { t: 'emit'; id: number; event: string; payload: unknown }
  /** An administrator's operation (StoreAdminApi): the admin API and `cgihost users`. */
  | { t: 'admin'; id: number; op: StoreAdminOp; args: unknown };

/** store thread -> main thread. */
export type StoreControlReply =
  | { t: 'ready' }
  | { t: 'stats'; id: number; stats: StoreStats }
  | { t: 'closed'; id: number }
  | { t: 'waitersReleased'; id: number; released: number }
  /** A control call failed (the store is closing, an emit could not be stored). */
  | { t: 'failed'; id: number; message: string }
  | { t: 'emitted'; id: number }
  | { t: 'adminResult'; id: number; ok: true; value: unknown }
  | { t: 'adminResult'; id: number; ok: false; error: { code: ErrorCode; message: string; details?: unknown } }
  | { t: 'log'; level: Level; msg: string; fields?: Record<string, unknown> };
