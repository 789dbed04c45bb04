/**
 * Messages on the store thread's ports. Each CGI worker gets its own
 * MessagePort straight to the store thread (no hop through the main thread);
 * the main thread keeps one control port (the thread's parentPort). On a
 * worker's port each postMessage carries an array of these, both ways: what
 * one event-loop turn produced (see Outbox).
 */
import type { ErrorCode } from '../errors.js';
import type { ToConsumer, Subscription, TopicCounts } from './queue/consumers.js';
import type { Level } from '../log.js';
import type { StoreOp } from './api.js';
import type { PlatformOp, PortOwner } from './platform-api.js';
import type { StoreAdminOp } from './admin-api.js';

/** CGI worker -> store thread, on a worker's own port. */
export type StoreRequest =
  /** ctx.store */
  | { t: 'call'; id: number; op: StoreOp; args: unknown; requestId: string }
  /** ctx.kv, ctx.queue: answered like a call, in the port owner's key space. */
  | { t: 'platform'; id: number; op: PlatformOp; args: unknown }
  /** The request went away (client closed, timeout): end any held long-poll of it at once. */
  | { t: 'cancel'; requestId: string }
  /** A consumer worker starts taking its topic's jobs... */
  | { t: 'subscribe'; sub: Subscription }
  /** ...and stops taking new ones (it is being retired; it finishes what it holds). */
  | { t: 'unsubscribe' }
  /** A job's outcome. `permanent`: no retry can help (the payload does not match the consumer's input). */
  // `attempt`: which try this answers. A try that timed out may still answer late, after the job went out again.
  | { t: 'job-done'; id: number; attempt: number }
  | { t: 'job-failed'; id: number; attempt: number; error: string; permanent?: boolean };

/** store thread -> CGI worker. */
export type StoreResponse =
  /** `heldMs`: the call was a long-poll held this long waiting for an entry. */
  | { t: 'result'; id: number; ok: true; value: unknown; heldMs?: number }
  | { t: 'result'; id: number; ok: false; error: { code: ErrorCode; message: string; details?: unknown } }
  | ToConsumer;

export interface StoreStats {
  /** Jobs not yet done, per topic (fanout, webhook, ...). */
  queueDepth: Record<string, number>;
  /** Age in seconds of the oldest job not yet done, per topic (0 when empty). */
  queueLagSeconds: Record<string, number>;
  /** Retries scheduled since the store opened, per topic. */
  queueRetries: Record<string, number>;
  /** Consumer topics: their consumers, jobs in flight, done and failed since the store opened. */
  queueTopics: Record<string, TopicCounts>;
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
  /** A worker's port; `owner` binds it to a CGI group's kv space (none: ctx.kv is refused on it). */
  | { t: 'attach'; port: import('node:worker_threads').MessagePort; owner?: PortOwner }
  | { t: 'stats'; id: number }
  | { t: 'close'; id: number }
  /** Answer every held long-poll now, with an empty list (graceful stop, before draining HTTP). */
  | { t: 'releaseWaiters'; id: number }
  /** An event to deliver to configured webhooks through the queue (alerts, for one). */
  | { t: 'emit'; id: number; event: string; payload: unknown }
  /** An administrator's operation (StoreAdminApi): the queue, schedules and users, for the admin API and `cgihost users`. */
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
  | { t: 'admin'; id: number; ok: true; value: unknown }
  | { t: 'admin'; id: number; ok: false; error: { code: ErrorCode; message: string; details?: unknown } }
  | { t: 'log'; level: Level; msg: string; fields?: Record<string, unknown> };
