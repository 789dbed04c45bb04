/**
 * The engine boundary of the store: what a storage engine must answer, so
 * that the rest of the host never asks which one it has (SPEC §9; SQLite
 * today, PostgreSQL next). Declarations only, built from the operations the
 * store already offers (StoreApi in api.ts, PlatformApi in platform-api.ts,
 * StoreAdminApi in admin-api.ts) and the job queue's table (queue/jobs.ts).
 * The SQLite engine's classes declare `implements` of these, so the type
 * checker holds them to it: `Store`, `Platform`, `JobQueue`, `Inbox`,
 * `TokenReader`.
 *
 * Engine-neutral rules, the same whatever the engine (a second engine calls
 * them, it does not restate them):
 * - argument checks and limits: validate.ts, the limits of platform-api.ts,
 *   kv.ts's checkAtomic/checkMessage/checkTopic, the sync, history and search
 *   page clamps (store.ts), the kv key encoding (worker/kv-keys.ts: byte
 *   order is key order in a BLOB and in a bytea alike);
 * - the login policy and the send limit's rules (login-policy.ts,
 *   send-limit.ts), ids (ids.ts), how an entry is shown (message-view.ts),
 *   the job queue's backoff (JobQueue.backoff), the error codes (errors.ts);
 * - media files, which live in `mediaDir` for both; the engine keeps their
 *   records.
 * Today many checks are written inside the SQLite classes next to their
 * queries (Accounts.createUser checks the username, Groups its member
 * count): lifting them above this line is part of adding a second engine.
 *
 * Engine work: storing and reading the rows; making a write durable before it
 * is answered (SQLite: group commit, one fsync per batch); dense seqs; waking
 * a held sync when an entry for it commits (SQLite: in the one writer's
 * memory, sync-waiters.ts; several hosts must tell each other); telling every
 * token cache of a revocation; claiming jobs and schedule leases so that each
 * runs once; and where the login and send counts live (the store thread's
 * memory for SQLite's one host, shared by every host with PostgreSQL).
 *
 * The PostgreSQL engine: `PgStore` (pg/store.ts) with the parts of pg/open.ts,
 * on the schema of pg/schema.ts; `cgihost migrate-store` (pg/migrate.ts)
 * copies a stopped SQLite install into it. open-engine.ts picks one.
 *
 * Not declared here: the SQLite engine's own parts (db.ts, migrations,
 * group-commit.ts, the search index, backup.ts: a PostgreSQL install is
 * backed up with its own tools), and the queue's consumers (queue/fanout.ts,
 * queue/webhooks.ts, queue/consumers.ts), which run on JobTable and the group
 * commit of the store thread; with several hosts their claims become leases
 * (docs/platform.md "Store engines"), the PostgreSQL step's to design.
 */
import type { StoreClient, StoreOp, SyncResult } from './api.js';
import type { StoreAdmin } from './admin-api.js';
import type { PlatformApi, PlatformOp, PortOwner } from './platform-api.js';
import type { PlatformAdminApi, PlatformAdminOp } from './platform.js';
import type { StoreStats } from './protocol.js';
import type { Tx } from './group-commit.js';
import type { MessageFacts } from './message-rows.js';
import type { TokenIdentity } from './token-reader.js';
import type { DeadJobRow, JobRow, QueueStats } from './queue/jobs.js';
import type { ConsumerDispatch, Subscriber } from './queue/consumers.js';

/** An API's operations as an engine answers them: asynchronously (StoreClient is StoreApi in this form). */
export type Answered<Api> = {
  [K in keyof Api]: Api[K] extends (a: infer A) => infer R ? (a: A) => Promise<Awaited<R>> : never;
};

// The operations, grouped as issue 20 names them.

/**
 * Accounts and sessions: users, sessions, the login throttle (asked before a
 * password is checked, told after), users administration. A session ended
 * (revokeSession, setUserDisabled, resetPassword) is refused by every
 * TokenLookup before the call is answered (one host), or within 1 s (several).
 */
export type AccountOps = Pick<
  StoreClient,
  'createUser' | 'findUserByName' | 'createSession' | 'revokeSession' | 'checkLogin' | 'recordLogin'
> &
  StoreAdmin;

/**
 * The inbox: sendMessage appends an entry to each inbox it reaches, with the
 * next dense seq of that inbox (1, 2, 3..., none skipped, none repeated, also
 * across rollbacks), stores the message once per (sender, clientMsgId) and answers a
 * retry with the first answer; sync reads the entries after a syncKey and,
 * when there are none, holds until one commits (SPEC §4).
 */
export type InboxOps = Pick<StoreClient, 'sendMessage' | 'sync'>;

/** Conversations, history, recall, search (SPEC §6). */
export type ConversationOps = Pick<StoreClient, 'getConversations' | 'markRead' | 'getHistory' | 'recallMessage' | 'searchMessages'>;

/** Contacts, blocking and profiles (SPEC §6). */
export type ContactOps = Pick<
  StoreClient,
  | 'setProfile'
  | 'getProfiles'
  | 'findUser'
  | 'addContact'
  | 'acceptContact'
  | 'declineContact'
  | 'deleteContact'
  | 'getContacts'
  | 'blockUser'
  | 'unblockUser'
>;

/** Groups; a group message's fan-out goes through the queue (JobTable), in the transaction of the send. */
export type GroupOps = Pick<StoreClient, 'createGroup' | 'addGroupMembers' | 'removeGroupMembers' | 'getGroup'>;

/** Media records (the files themselves are in mediaDir, whatever the engine). */
export type MediaOps = Pick<StoreClient, 'putMedia' | 'openMedia'>;

/** ctx.kv and ctx.queue's sends (SPEC §8), in the key space of the port's owner: the store takes it from the port, never from the caller. */
export type KvOps = {
  [K in PlatformOp]: (a: Parameters<PlatformApi[K]>[0], owner: PortOwner) => Promise<ReturnType<PlatformApi[K]>>;
};

/** The queue as the admin API sees it: topics, dead letters and their retry. */
export type QueueOps = Answered<Pick<PlatformAdminApi, 'queueTopics' | 'deadLetters' | 'retryDead'>>;

/** Schedules' leases: each firing of a schedule is run by the one host that takes its lease (SPEC §9). */
export type ScheduleLeaseOps = Answered<Pick<PlatformAdminApi, 'leaseSchedule' | 'scheduleFinished' | 'scheduleRuns'>>;

type GroupedOp = keyof (AccountOps & InboxOps & ConversationOps & ContactOps & GroupOps & MediaOps & QueueOps & ScheduleLeaseOps);
type Assert<T extends true> = T;
/** Fails the type check while an operation of StoreApi or the admin API is in none of the groups above. */
export type EveryOperationGrouped = Assert<[Exclude<StoreOp | PlatformAdminOp, GroupedOp>] extends [never] ? true : false>;

/** What the store thread holds (SQLite: `Store`, store.ts): every operation above, and the host's controls. */
export interface StoreEngine extends AccountOps, InboxOps, ConversationOps, ContactOps, GroupOps, MediaOps {
  /** ctx.kv, the queue's admin side, schedule leases (SQLite: `Platform`, platform.ts). */
  readonly platform: PlatformEngine;
  /** Ends a held sync of this request at once (its client went away). */
  cancel(requestId: string): boolean;
  /** Answers every held sync now, empty, and holds no new ones: the host is stopping. Returns how many. */
  releaseWaiters(): number;
  /** Delivers a host event (an alert) to the webhooks that listen to it, through the queue. */
  emit(event: string, payload: unknown): Promise<void>;
  stats(): StoreStats;
  /** Stops the consumers, commits what is queued, answers held syncs, closes the database. */
  close(): Promise<void>;
}

/**
 * The consumer side of the queue, as the store thread drives it (thread.ts):
 * a worker whose consumer subscribed to its topic gets jobs pushed, and
 * answers each try (SQLite: ConsumerDispatch, queue/consumers.ts).
 */
export interface ConsumerHub {
  subscribe(sub: Subscriber): void;
  readonly dispatch: Pick<ConsumerDispatch, 'answered' | 'unsubscribe' | 'closed' | 'counts'>;
}

export interface PlatformEngine extends KvOps, QueueOps, ScheduleLeaseOps, ConsumerHub {}

/**
 * Bearer tokens, resolved where the request arrives (the main thread) without
 * a hop to the store thread (SQLite: `TokenReader`, a read-only connection
 * with a cache that a revocation empties).
 */
export interface TokenLookup {
  authenticate(token: string): TokenIdentity | null | Promise<TokenIdentity | null>;
  close(): void;
}

// Tables whose guarantees are the engine's own. `tx` is the write's context
// (its clock, the after-commit hints): it holds no connection. Methods without
// one run on SQLite's single connection inside the open transaction; a
// PostgreSQL engine would pass its transaction there.

/** Inboxes (SQLite: `Inbox`, inbox.ts): where dense seqs are made. */
export interface InboxTable {
  /** Writes the next entry of `uid`'s inbox; returns its seq. */
  append(tx: Tx, uid: string, m: MessageFacts): number;
  /** Takes the next seq without writing the entry yet; `put` writes it in the same write. */
  reserve(uid: string): number;
  put(tx: Tx, uid: string, seq: number, m: MessageFacts): void;
  /** Entries of `uid` after `syncKey`, at most `limit`: committed ones only. */
  read(uid: string, syncKey: number, limit: number): SyncResult;
  lastCommittedSeq(uid: string): number;
  /** Every inbox holding a message (a recall reaches them all). */
  holders(msgRowId: number): Array<{ uid: string; seq: number }>;
}

/**
 * The durable job queue (SQLite: `JobQueue`, queue/jobs.ts). A job is
 * enqueued in the transaction of what causes it and finished in the
 * transaction of its work; delivery is at least once.
 */
export interface JobTable {
  /** Enqueue: due at `runAt` (default now); returns the job's row id (ids never repeat). */
  enqueue(tx: Tx, topic: string, payload: string, key?: string, runAt?: number): number;

  // Take.
  /** Due jobs of a host topic in the order they were made (fan-out, webhooks). */
  due(topic: string, now: number, limit: number): JobRow[];
  dueForKey(topic: string, key: string, now: number, limit: number): JobRow[];
  nextDue(topic: string, key: string, now: number): number | null;
  /** Due jobs of a consumer topic that may start now: of the pending jobs sharing a key, only the oldest. */
  claimable(topic: string, now: number, limit: number): JobRow[];
  /** claimable(), after the job at (`at`, `id`) in due order. */
  claimableAfter(topic: string, now: number, at: number, id: number, limit: number): JobRow[];
  nextDueIn(topic: string, now: number): number | null;

  // Finish.
  /** A host topic's job is done (kept a while, then pruned). */
  done(id: number, now: number): void;
  /** A consumer job is done: deleted. */
  remove(id: number): void;

  // Retry, dead letters.
  /** A failed try: a retry with backoff, or a dead letter after the last attempt. */
  fail(tx: Tx, job: JobRow, error: string, maxAttempts?: number): { dead: boolean; nextRunAt: number };
  deadLetters(topic: string, limit: number, beforeId?: number): DeadJobRow[];
  deadJob(id: number): DeadJobRow | undefined;
  /** A dead letter back to pending, attempts reset; its topic, or null when it is not dead. */
  retryDead(tx: Tx, id: number): string | null;

  stats(now?: number): QueueStats;
}
