/**
 * The PostgreSQL store engine (docs/postgres.md): every operation of the
 * SQLite `Store` (StoreEngine, engine.ts), answered from PostgreSQL so that
 * several hosts share one database. Each write is one transaction on the
 * pool; dense seqs come from inbox_heads (inbox.ts); held syncs are woken by
 * this host's commits at once and by other hosts' through LISTEN/NOTIFY
 * (wake-bus.ts), with a re-check of every held uid once a second; group
 * fan-out runs on whichever host claims the job (fanout.ts).
 *
 * Contacts, groups, search, ctx.kv/consumers/schedules and webhooks are parts
 * built beside this one (PgStoreParts): each is made from the engine's shared
 * pieces (PgPartContext). A part this build lacks answers its operations with
 * 500 INTERNAL "... not in this build"; without webhooks nothing is emitted.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CgiError } from '../../errors.js';
import { createLogger, type Logger } from '../../log.js';
import type { ConversationRef, SendMessageArgs, SyncArgs, SyncResult } from '../api.js';
import type { ListUsersArgs } from '../admin-api.js';
import type { ContactOps, ConversationOps, GroupOps, PlatformEngine, StoreEngine } from '../engine.js';
import { MAX_CONVERSATIONS_LIMIT } from '../conversations.js';
import { MAX_HISTORY_LIMIT } from '../history.js';
import { isStorageFailure, storeUnavailable } from '../disk-full.js';
import type { PutMediaArgs } from '../media.js';
import { DEFAULT_RECALL_WINDOW_MS } from '../recall.js';
import { resolveQueueOptions, type StoreOptions } from '../options.js';
import type { StoreStats } from '../protocol.js';
import type { TopicCounts } from '../queue/consumers.js';
import { FANOUT, type MessageFanoutJob } from '../queue/fanout.js';
import { TOPICS } from '../queue/jobs.js';
import type { CallContext } from '../store.js';
import { clampInt, invalid, syncBounds } from '../validate.js';
import { PgDb, type PgTx } from './db.js';
import type { Queryable } from './schema.js';
import type { PgFanoutPart, PgInboxPart, PgMessagesPart, WakeBus, WebhookSink } from './parts.js';
import { PgAccounts } from './accounts.js';
import { PgLoginPolicy, PgSendLimit } from './throttle.js';
import { PgInbox } from './inbox.js';
import { PgMessages, PgMessaging } from './messages.js';
import { PgMedia } from './media.js';
import { PgConversations, Unchanged } from './conversations.js';
import { PgFanout } from './fanout.js';
import { PgSyncWaiters } from './sync-waiters.js';
import { PgWakeBus } from './wake-bus.js';

/** Held syncs are read again at least this often (a lost NOTIFY), and the sessions epoch and queue figures are refreshed. */
const RECHECK_MS = 1_000;

export type PgStoreOptions = StoreOptions & {
  url: string;
  /** This host's name in job leases (default: hostname, pid and a random part). */
  hostId?: string;
  /** The media folder (default `<dataDir>/media`); hosts sharing a database share it. */
  mediaDir?: string;
  /** Pool size (default 16). */
  poolSize?: number;
};

// The parts built beside this one, as PgStore calls them.

export interface PgContactsPart extends ContactOps {
  /** Whether `uid` blocks `peer` (read on `q`: the send's transaction). */
  blocks(q: Queryable, uid: string, peer: string): Promise<boolean>;
  /** Whether each of the two lists the other (messaging.contactsOnly). */
  mutual(q: Queryable, a: string, b: string): Promise<boolean>;
}

export interface PgGroupsPart extends GroupOps {
  /**
   * Takes the group's row FOR SHARE for the transaction (nothing when there is
   * no such group). A post and a fan-out job take it before any inbox head, as
   * a membership change takes it FOR UPDATE before its own: one lock order.
   */
  share(tx: PgTx, groupId: string): Promise<void>;
  /** The group's current version for a post by `from` (NO_SUCH_GROUP / NOT_GROUP_MEMBER otherwise). */
  versionForPost(tx: PgTx, groupId: string, from: string): Promise<number>;
  /** The members of a version, in join order. */
  members(groupId: string, version: number): Promise<readonly string[]>;
  /** A fan-out job is finished with `version` (groups.ts's release). */
  release(tx: PgTx, groupId: string, version: number): Promise<void>;
}

export type PgSearchPart = Pick<ConversationOps, 'searchMessages'>;

export interface PgPlatformPart extends PlatformEngine {
  close?(): Promise<void>;
}

export interface PgWebhooksPart extends WebhookSink {
  close?(): Promise<void>;
}

/** What a part is made from. */
export interface PgPartContext {
  db: PgDb;
  opts: PgStoreOptions;
  hostId: string;
  log: Logger;
  inbox: PgInboxPart;
  messages: PgMessagesPart;
  fanout: PgFanoutPart;
  /** The webhooks part, or one that wants nothing (read it when emitting, not when made: webhooks may be made after). */
  webhooks(): WebhookSink;
  /** NO_SUCH_USER listing the unknown ones. */
  requireUsers(uids: readonly string[], q?: Queryable): Promise<void>;
  /** Held syncs of `uid` on this host end (empty) at once. */
  releaseUser(uid: string): void;
}

export type PgPartFactory<T> = (ctx: PgPartContext) => T | Promise<T>;

export interface PgStoreParts {
  contacts?: PgPartFactory<PgContactsPart>;
  groups?: PgPartFactory<PgGroupsPart>;
  search?: PgPartFactory<PgSearchPart>;
  platform?: PgPartFactory<PgPlatformPart>;
  webhooks?: PgPartFactory<PgWebhooksPart>;
}

const NO_WEBHOOKS: WebhookSink = { wants: () => false, emit: async () => {} };

function notInBuild(what: string): CgiError {
  return new CgiError('INTERNAL', `${what} is not in this build of the PostgreSQL store`);
}

/** A platform that answers every operation INTERNAL (its part is missing). */
function missingPlatform(): PgPlatformPart {
  return new Proxy({} as PgPlatformPart, {
    get: (_t, k) => (typeof k === 'symbol' || k === 'then' ? undefined : () => Promise.reject(notInBuild(`platform.${k}`))),
  });
}

export class PgStore implements StoreEngine {
  platform: PgPlatformPart = missingPlatform();
  readonly hostId: string;
  private readonly log: Logger;
  private readonly accounts: PgAccounts;
  private readonly logins: PgLoginPolicy;
  private readonly inbox: PgInbox;
  private readonly rows: PgMessages;
  private readonly media: PgMedia;
  private readonly messaging: PgMessaging;
  private readonly conversations: PgConversations;
  private readonly fanout: PgFanout;
  private readonly waiters: PgSyncWaiters;
  private contacts?: PgContactsPart;
  private groups?: PgGroupsPart;
  private search?: PgSearchPart;
  private webhooks?: PgWebhooksPart;
  private readonly partContext: PgPartContext;
  private tick?: NodeJS.Timeout;
  private readonly sent = new Map<string, number>();
  private readonly retries = new Map<string, number>();
  private queue: Pick<StoreStats, 'queueDepth' | 'queueLagSeconds' | 'queueDeadLetters'> = {
    queueDepth: {},
    queueLagSeconds: {},
    queueDeadLetters: {},
  };
  private topics: Record<string, TopicCounts> = {};
  private entriesWritten = 0;
  private commits = 0;
  private failingSince = 0;
  private epoch: number;
  private internalRequests = 0;
  private hasPlatform = false;
  private readonly revocations?: Int32Array;
  private holding = true;
  private closed = false;

  static async open(opts: PgStoreOptions, parts: PgStoreParts = {}): Promise<PgStore> {
    const log = opts.log ?? createLogger({ level: 'info', format: 'json' });
    const hostId = opts.hostId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const db = await PgDb.open({ url: opts.url, max: opts.poolSize, applicationName: `cgihost ${hostId}`.slice(0, 63), log });
    let bus: PgWakeBus | undefined;
    try {
      bus = await PgWakeBus.start(opts.url, { applicationName: `cgihost-listen ${hostId}`.slice(0, 63), log });
      const epoch = await db.query<{ value: number }>(`SELECT value FROM counters WHERE name = 'sessions_epoch'`);
      const store = new PgStore(opts, db, bus, hostId, log, epoch[0]?.value ?? 0);
      try {
        await store.attach(parts);
      } catch (err) {
        await store.close().catch(() => {});
        throw err;
      }
      store.start();
      return store;
    } catch (err) {
      await bus?.close();
      await db.close();
      throw err;
    }
  }

  private constructor(
    opts: PgStoreOptions,
    private readonly db: PgDb,
    private readonly bus: PgWakeBus,
    hostId: string,
    log: Logger,
    epoch: number,
  ) {
    this.hostId = hostId;
    this.log = log;
    this.epoch = epoch;
    this.revocations = opts.revocations;
    const queue = resolveQueueOptions(opts.queue);
    const messaging = opts.messaging ?? {};
    this.accounts = new PgAccounts(db);
    this.logins = new PgLoginPolicy(db, opts.login);
    this.waiters = new PgSyncWaiters(
      (uid, key, limit) => this.inbox.read(uid, key, limit),
      (uids) => db.query<{ uid: string; last_seq: number }>('SELECT uid, last_seq FROM inbox_heads WHERE uid = ANY($1::text[])', [uids]),
      (err) => this.log.warn('held sync read failed', { error: (err as Error).message }),
    );
    this.inbox = new PgInbox(
      db,
      {
        watched: (uid) => this.waiters.has(uid),
        committed: (uid) => this.waiters.wake([uid]),
        entry: () => void this.entriesWritten++,
      },
      messaging.keepConversations ?? true,
    );
    this.rows = new PgMessages(db, (type) => this.sent.set(type, (this.sent.get(type) ?? 0) + 1));
    this.media = new PgMedia(db, opts.mediaDir ?? join(opts.dataDir, 'media'));
    this.fanout = new PgFanout(
      db,
      hostId,
      {
        message: (tx, job) => this.fanoutMessage(tx, job),
        recall: (tx, job) => this.conversations.deliverRecall(tx, job),
        release: (tx, g, v) => this.groupsPart().release(tx, g, v),
        dead: async (tx, job, error) => {
          const w = this.webhookSink();
          if (w.wants('alert')) await w.emit(tx, 'alert', { kind: 'job_dead', topic: job.topic, jobId: job.id, error });
        },
        retried: () => this.retries.set(FANOUT, (this.retries.get(FANOUT) ?? 0) + 1),
      },
      queue,
      log,
    );
    const ctx: PgPartContext = {
      db,
      opts,
      hostId,
      log,
      inbox: this.inbox,
      messages: this.rows,
      fanout: this.fanout,
      webhooks: () => this.webhookSink(),
      requireUsers: (uids, q) => this.accounts.requireUsers(uids, q),
      releaseUser: (uid) => this.waiters.releaseUser(uid),
    };
    this.partContext = ctx;
    this.conversations = new PgConversations(
      db,
      this.inbox,
      this.rows,
      this.accounts,
      this.media,
      this.fanout,
      messaging.recallWindowMs ?? DEFAULT_RECALL_WINDOW_MS,
      messaging.keepConversations ?? true,
    );
    const sendLimit = new PgSendLimit(opts.sendPerMinute ?? 0);
    this.messaging = new PgMessaging({
      db,
      accounts: this.accounts,
      inbox: this.inbox,
      rows: this.rows,
      media: this.media,
      contacts: () => this.contacts,
      groups: () => this.groupsPart(),
      fanout: this.fanout,
      webhooks: () => this.webhookSink(),
      sendLimit,
      contactsOnly: messaging.contactsOnly ?? false,
    });
    bus.onWake((uids) => this.waiters.wake(uids));
    bus.onRevoke((e) => this.epochSeen(e));
    bus.onRelease((uid) => this.waiters.releaseUser(uid));
  }

  /** Makes the parts built beside this one (some open asynchronously: the platform, webhooks). */
  private async attach(parts: PgStoreParts): Promise<void> {
    const ctx = this.partContext;
    this.webhooks = await parts.webhooks?.(ctx);
    this.contacts = await parts.contacts?.(ctx);
    this.groups = await parts.groups?.(ctx);
    this.search = await parts.search?.(ctx);
    if (parts.platform) {
      this.platform = await parts.platform(ctx);
      this.hasPlatform = true;
    }
  }

  /** Starts the fan-out worker and the once-a-second re-check, once every part is there. */
  private start(): void {
    this.tick = setInterval(() => void this.recheck(), RECHECK_MS);
    this.tick.unref();
    this.fanout.start();
    void this.recheck();
  }

  // accounts

  createUser(a: { username: string; passwordHash: string }) {
    return this.write((tx) => this.accounts.createUser(tx, a));
  }
  findUserByName(a: { username: string }) {
    return this.accounts.findUserByName(a);
  }
  createSession(a: { uid: string; tokenHash: string; deviceId?: string }) {
    return this.write((tx) => this.accounts.createSession(tx, a));
  }
  /** Answered after the commit, with this host's token caches told; every other host's within a second (NOTIFY, or the poll). */
  async revokeSession(a: { sessionId: string }) {
    const epoch = await this.write((tx) => this.accounts.revokeSession(tx, a));
    if (epoch !== null) this.epochSeen(epoch);
    return { revoked: epoch !== null };
  }
  async checkLogin(a: { username: string; ip: string }) {
    loginArgs(a);
    return this.logins.check(a.username, a.ip);
  }
  async recordLogin(a: { username: string; ip: string; ok: boolean }) {
    loginArgs(a);
    await this.logins.record(a.username, a.ip, a.ok === true);
  }

  // administration

  listUsers(a: ListUsersArgs) {
    return this.accounts.list(a ?? {});
  }
  getUser(a: { username: string }) {
    return this.accounts.get(a?.username);
  }
  async setUserDisabled(a: { username: string; disabled: boolean }) {
    const r = await this.write(async (tx) => {
      const out = await this.accounts.setUserDisabled(tx, a);
      return { ...out, epoch: a.disabled ? await currentEpoch(tx) : null };
    });
    if (r.epoch !== null) {
      this.epochSeen(r.epoch);
      this.waiters.releaseUser(r.uid);
    }
    return r.user;
  }
  async resetPassword(a: { username: string; passwordHash: string }) {
    const r = await this.write(async (tx) => ({ ...(await this.accounts.resetPassword(tx, a)), epoch: await currentEpoch(tx) }));
    this.epochSeen(r.epoch);
    this.waiters.releaseUser(r.uid);
    await this.logins.forgetAccount(a.username);
    return { revokedSessions: r.revokedSessions };
  }

  /** The shared sessions epoch as this host last saw it (it moves with every revocation, on any host). */
  get sessionsEpoch(): number {
    return this.epoch;
  }

  // messaging

  async sendMessage(a: SendMessageArgs) {
    return this.messaging.send(a);
  }

  /** Entries after syncKey; with timeoutMs > 0 and none waiting, held until one is committed (on any host). */
  async sync(a: SyncArgs, ctx: CallContext = {}): Promise<SyncResult> {
    const { limit, timeoutMs } = syncBounds(a);
    if (timeoutMs === 0 || !this.holding) return this.readOnce(a.uid, a.syncKey, limit);
    const requestId = ctx.requestId ?? `store-internal-${++this.internalRequests}`;
    const heldAt = performance.now();
    // Held before the first read: an entry that commits during it wakes the read again instead of being missed.
    const held = this.waiters.hold(a.uid, requestId, a.syncKey, limit, timeoutMs, true);
    let r: SyncResult;
    try {
      r = await this.readOnce(a.uid, a.syncKey, limit);
    } catch (err) {
      this.waiters.settle(requestId, null);
      throw err;
    }
    if (r.messages.length > 0) {
      this.waiters.settle(requestId, r);
      return r;
    }
    this.waiters.settle(requestId, r);
    const out = await held;
    ctx.heldMs = performance.now() - heldAt;
    return out;
  }

  /** Entries after syncKey now; SYNC_KEY_AHEAD for a key past the end (SPEC §10, held or not). */
  private async readOnce(uid: string, syncKey: number, limit: number): Promise<SyncResult> {
    const r = await this.inbox.read(uid, syncKey, limit);
    if (r.messages.length > 0 || syncKey === 0) return r;
    const lastSeq = await this.inbox.lastSeq(uid);
    if (syncKey > lastSeq) {
      throw new CgiError('SYNC_KEY_AHEAD', `syncKey ${syncKey} is past the last seq of this inbox (${lastSeq})`, { lastSeq });
    }
    return r;
  }

  releaseWaiters(): number {
    this.holding = false;
    const n = this.waiters.size;
    this.waiters.releaseAll();
    return n;
  }

  cancel(requestId: string): boolean {
    return this.waiters.cancel(requestId);
  }

  // profiles, contacts and blocking (the contacts part)

  async setProfile(a: Parameters<ContactOps['setProfile']>[0]) {
    return this.contactsPart('setProfile').setProfile(a);
  }
  async getProfiles(a: { uids: string[] }) {
    return this.contactsPart('getProfiles').getProfiles(a);
  }
  async findUser(a: { username: string }) {
    return this.contactsPart('findUser').findUser(a);
  }
  async addContact(a: { uid: string; peer: string; greeting?: string }) {
    return this.contactsPart('addContact').addContact(a);
  }
  async acceptContact(a: { uid: string; peer: string }) {
    return this.contactsPart('acceptContact').acceptContact(a);
  }
  async declineContact(a: { uid: string; peer: string }) {
    return this.contactsPart('declineContact').declineContact(a);
  }
  async deleteContact(a: { uid: string; peer: string }) {
    return this.contactsPart('deleteContact').deleteContact(a);
  }
  async getContacts(a: { uid: string }) {
    return this.contactsPart('getContacts').getContacts(a);
  }
  async blockUser(a: { uid: string; peer: string }) {
    return this.contactsPart('blockUser').blockUser(a);
  }
  async unblockUser(a: { uid: string; peer: string }) {
    return this.contactsPart('unblockUser').unblockUser(a);
  }

  // conversations, history, recall, search

  async getConversations(a: { uid: string; limit: number }) {
    if (typeof a.uid !== 'string') invalid('uid is required');
    return { conversations: await this.conversations.list(a.uid, clampInt(a.limit, 1, MAX_CONVERSATIONS_LIMIT, 100)) };
  }
  markRead(a: ConversationRef & { uid: string; seq: number }) {
    return this.write((tx) => this.conversations.markRead(tx, a));
  }
  async getHistory(a: ConversationRef & { uid: string; beforeSeq?: number; limit: number }) {
    if (typeof a.uid !== 'string') invalid('uid is required');
    const { conv } = await this.conversations.resolve(a);
    if (a.beforeSeq !== undefined && !(Number.isSafeInteger(a.beforeSeq) && a.beforeSeq >= 1))
      invalid('beforeSeq must be a positive integer');
    return this.conversations.history(a.uid, conv, a.beforeSeq, clampInt(a.limit, 1, MAX_HISTORY_LIMIT, 50));
  }
  recallMessage(a: { uid: string; msgId: string }) {
    return this.write((tx) => this.conversations.recall(tx, a));
  }
  async searchMessages(a: Parameters<ConversationOps['searchMessages']>[0]) {
    if (!this.search) throw notInBuild('searchMessages');
    return this.search.searchMessages(a);
  }

  // groups (the groups part)

  async createGroup(a: { owner: string; name: string; members: string[] }) {
    return this.groupsPart().createGroup(a);
  }
  async addGroupMembers(a: { by: string; groupId: string; members: string[] }) {
    return this.groupsPart().addGroupMembers(a);
  }
  async removeGroupMembers(a: { by: string; groupId: string; members: string[] }) {
    return this.groupsPart().removeGroupMembers(a);
  }
  async getGroup(a: { uid: string; groupId: string }) {
    return this.groupsPart().getGroup(a);
  }

  // media

  async putMedia(a: PutMediaArgs) {
    await this.accounts.requireUsers([a.uploader]);
    await this.media.place(a).catch((err: unknown) => {
      if (!isStorageFailure(err)) throw err;
      // The media folder cannot take the file (full, read-only): writes are failing (SPEC §10).
      if (this.failingSince === 0) this.failingSince = Date.now();
      throw storeUnavailable(err);
    });
    return this.write(async (tx) => {
      await this.accounts.requireUsers([a.uploader], tx);
      return this.media.record(tx, a);
    });
  }
  openMedia(a: { uid: string; mediaId: string }) {
    return this.media.open(a);
  }

  // host

  async emit(event: string, payload: unknown): Promise<void> {
    if (typeof event !== 'string' || event.length === 0) invalid('event must be a name');
    const w = this.webhookSink();
    if (!w.wants(event)) return;
    await this.write((tx) => w.emit(tx, event, payload));
  }

  stats(): StoreStats {
    const depth: Record<string, number> = { ...this.queue.queueDepth };
    const lag: Record<string, number> = { ...this.queue.queueLagSeconds };
    const dead: Record<string, number> = { ...this.queue.queueDeadLetters };
    const retries: Record<string, number> = {};
    for (const t of new Set([
      ...TOPICS,
      ...Object.keys(depth),
      ...Object.keys(dead),
      ...this.retries.keys(),
      ...Object.keys(this.topics),
    ])) {
      depth[t] ??= 0;
      lag[t] ??= 0;
      dead[t] ??= 0;
      retries[t] = this.retries.get(t) ?? 0;
    }
    return {
      queueDepth: depth,
      queueLagSeconds: lag,
      queueRetries: retries,
      queueDeadLetters: dead,
      queueTopics: this.topics,
      syncWaiters: this.waiters.size,
      messagesSent: Object.fromEntries(this.sent),
      inboxEntriesWritten: this.entriesWritten,
      commits: this.commits + this.messaging.commits,
      writesFailingSince: this.failingSince,
    };
  }

  /** Resolves once this host's fan-out worker is idle and no fan-out job is due (jobs in backoff aside). */
  async whenIdle(): Promise<void> {
    for (let quiet = 0; quiet < 2;) {
      await new Promise((r) => setTimeout(r, 5));
      const due = await this.db.query<{ n: number }>(
        `SELECT count(*)::bigint AS n FROM jobs WHERE topic = $1 AND state = 'pending' AND next_run_at <= $2`,
        [FANOUT, Date.now()],
      );
      quiet = !this.fanout.busy && due[0]!.n === 0 ? quiet + 1 : 0;
      if (due[0]!.n > 0) this.fanout.wake();
    }
  }

  /** For tests: the wake-up bus (its LISTEN connection's pid; closing it leaves only the once-a-second re-check). */
  get wakeBus(): PgWakeBus {
    return this.bus;
  }

  /** For tests: the fan-out worker (stop it, or hook into a job's transaction). */
  get fanoutWorker(): PgFanout {
    return this.fanout;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.holding = false;
    clearInterval(this.tick);
    await this.fanout.stop();
    await this.platform.close?.().catch((err: Error) => this.log.warn('platform close failed', { error: err.message }));
    await this.webhooks?.close?.().catch((err: Error) => this.log.warn('webhooks close failed', { error: err.message }));
    this.waiters.releaseAll();
    await this.bus.close();
    await this.db.close();
  }

  // internals

  /** One write transaction: counted; an Unchanged answer rolls it back and is returned; STORE_UNAVAILABLE marks writes failing. */
  private async write<T>(fn: (tx: PgTx) => Promise<T>): Promise<T> {
    try {
      const r = await this.db.tx(fn);
      this.commits++;
      this.failingSince = 0;
      return r;
    } catch (err) {
      if (err instanceof Unchanged) return err.answer as T;
      if (err instanceof CgiError && err.code === 'STORE_UNAVAILABLE' && this.failingSince === 0) this.failingSince = Date.now();
      throw err;
    }
  }

  private async fanoutMessage(tx: PgTx, job: MessageFanoutJob): Promise<number> {
    // Before the members' heads (the lock order), and so that a membership change commits wholly
    // before or after this job: release() then sees whether its version is still current.
    await this.groupsPart().share(tx, job.g);
    const members = await this.groupsPart().members(job.g, job.v);
    const m = await this.rows.get(job.m, tx);
    if (!m) throw new Error(`fan-out job: no message ${job.m}`);
    // A message recalled before its fan-out still reaches every member (as recalled), but grants nothing.
    const mediaId = m.recalledAt === null ? job.media : undefined;
    const targets = [...new Set(members)].filter((u) => u !== job.x);
    const seqs = await this.inbox.reserveMany(tx, targets);
    for (let i = 0; i < targets.length; i++) {
      await this.inbox.put(tx, targets[i]!, seqs[i]!, m);
      if (mediaId !== undefined) await this.media.grant(tx, mediaId, targets[i]!, m.id);
    }
    return targets.length;
  }

  /** Once a second: held syncs against inbox_heads, the sessions epoch, the queue's figures. */
  private async recheck(): Promise<void> {
    if (this.closed) return;
    try {
      await this.waiters.recheck();
      const e = await this.db.query<{ value: number }>(`SELECT value FROM counters WHERE name = 'sessions_epoch'`);
      if (e[0]) this.epochSeen(e[0].value);
      const now = Date.now();
      const rows = await this.db.query<{ topic: string; state: string; n: number; oldest: number; oldest_due: number | null }>(
        `SELECT topic, state, count(*)::bigint AS n, min(created_at) AS oldest,
                min(next_run_at) FILTER (WHERE next_run_at <= $1) AS oldest_due
           FROM jobs WHERE state IN ('pending', 'dead') GROUP BY topic, state`,
        [now],
      );
      const q: typeof this.queue = { queueDepth: {}, queueLagSeconds: {}, queueDeadLetters: {} };
      for (const r of rows) {
        if (r.state === 'dead') {
          q.queueDeadLetters[r.topic] = r.n;
          continue;
        }
        q.queueDepth[r.topic] = r.n;
        const since = (TOPICS as readonly string[]).includes(r.topic) ? r.oldest : r.oldest_due;
        q.queueLagSeconds[r.topic] = since === null ? 0 : Math.max(0, (now - since) / 1000);
      }
      this.queue = q;
      if (this.hasPlatform) this.topics = await this.platform.queueTopics(undefined as never);
    } catch (err) {
      if (!this.closed) this.log.warn('store re-check failed', { error: (err as Error).message });
    }
  }

  /** A sessions epoch seen (this host's revocation, a NOTIFY, the poll): token caches drop what they hold when it moved. */
  private epochSeen(epoch: number): void {
    if (epoch <= this.epoch) return;
    this.epoch = epoch;
    if (this.revocations) Atomics.add(this.revocations, 0, 1);
  }

  private contactsPart(op: string): PgContactsPart {
    if (!this.contacts) throw notInBuild(op);
    return this.contacts;
  }

  private groupsPart(): PgGroupsPart {
    if (!this.groups) throw notInBuild('groups');
    return this.groups;
  }

  private webhookSink(): WebhookSink {
    return this.webhooks ?? NO_WEBHOOKS;
  }
}

async function currentEpoch(tx: PgTx): Promise<number> {
  const { rows } = await tx.query<{ value: number }>(`SELECT value FROM counters WHERE name = 'sessions_epoch'`);
  return rows[0]?.value ?? 0;
}

function loginArgs(a: { username: unknown; ip: unknown }): void {
  if (typeof a?.username !== 'string' || typeof a.ip !== 'string') invalid('username and ip are required');
}
