/**
 * The store: every StoreApi operation, run by the one writer thread. Writes go
 * through group commit (one transaction and one fsync per batch) and resolve
 * only once committed; reads run at once on the same connection, between
 * transactions, so they see exactly what is committed.
 */
import type { ConversationRef, StoreClient, SyncArgs, SyncResult } from './api.js';
import { CgiError } from '../errors.js';
import type { StoreStats } from './protocol.js';
import { openDatabase, type Db } from './db.js';
import { Batch, GroupCommit, Journals, type Tx } from './group-commit.js';
import { ConversationRows } from './conversation-rows.js';
import { Inbox } from './inbox.js';
import { SyncWaiters } from './sync-waiters.js';
import { Accounts } from './accounts.js';
import { LoginPolicy } from './login-policy.js';
import { SendLimit } from './send-limit.js';
import { UserAdmin } from './user-admin.js';
import type { ListUsersArgs } from './admin-api.js';
import type { StoreEngine } from './engine.js';
import { MessageRows } from './message-rows.js';
import { Groups } from './groups.js';
import { Media, type PutMediaArgs } from './media.js';
import { Messaging } from './messages.js';
import { Profiles } from './profiles.js';
import { Contacts } from './contacts.js';
import { Conversations, MAX_CONVERSATIONS_LIMIT, resolveConversation, type ConversationPeers } from './conversations.js';
import { History, MAX_HISTORY_LIMIT } from './history.js';
import { ConversationChain } from './chain.js';
import { DEFAULT_RECALL_WINDOW_MS, Recall } from './recall.js';
import { MAX_SEARCH_LIMIT, Search } from './search.js';
import { SearchIndexer } from './search-indexer.js';
import { clampInt, invalid, syncBounds } from './validate.js';
import { isStorageFailure, storeUnavailable } from './disk-full.js';
import { createLogger, type Logger } from '../log.js';
import { DEFAULT_GROUPS_MAX_MEMBERS, mediaDirOf, resolveQueueOptions, type StoreOptions } from './options.js';
import { JobQueue, type JobRow } from './queue/jobs.js';
import { FANOUT, FanoutConsumer } from './queue/fanout.js';
import { WEBHOOK, WebhookDispatcher } from './queue/webhooks.js';
import { Platform } from './platform.js';

/** What the thread knows of the call beyond its arguments. */
export interface CallContext {
  /** The HTTP request's id: `cancel(requestId)` ends a sync held for it. */
  requestId?: string;
  /** Set by a sync that was held: milliseconds spent waiting for an entry (not service time: see the monitor). */
  heldMs?: number;
}

export class Store implements StoreEngine {
  private readonly db: Db;
  private readonly log: Logger;
  private readonly commit: GroupCommit;
  private readonly inbox: Inbox;
  private readonly waiters: SyncWaiters;
  private readonly accounts: Accounts;
  private readonly logins: LoginPolicy;
  private readonly sendLimit: SendLimit;
  private readonly users: UserAdmin;
  private readonly groups: Groups;
  private readonly media: Media;
  private readonly messaging: Messaging;
  private readonly profiles: Profiles;
  private readonly contacts: Contacts;
  private readonly conversations: Conversations;
  private readonly history: History;
  private readonly recalls: Recall;
  private readonly search: Search;
  private readonly indexer: SearchIndexer;
  private readonly peers: ConversationPeers;
  private readonly jobs: JobQueue;
  private readonly fanout: FanoutConsumer;
  private readonly webhooks: WebhookDispatcher;
  /** ctx.kv, consumer topics, schedule leases (SPEC §8). */
  readonly platform: Platform;
  private readonly sent = new Map<string, number>();
  private readonly revocations?: Int32Array;
  private readonly recallCount?: Int32Array;
  private readonly commitCount?: Int32Array;
  private entriesWritten = 0;
  private internalRequests = 0;
  /** False once the host began to stop: syncs answer at once instead of holding. */
  private holding = true;
  private closed = false;

  static open(opts: StoreOptions): Store {
    return new Store(opts);
  }

  private constructor(opts: StoreOptions) {
    this.log = opts.log ?? createLogger({ level: 'info', format: 'json' });
    this.revocations = opts.revocations;
    this.recallCount = opts.recalls;
    this.commitCount = opts.commits;
    const queue = resolveQueueOptions(opts.queue);
    const db = (this.db = openDatabase(opts.dataDir, { synchronous: opts.synchronous }));
    const messaging = opts.messaging ?? {};
    const rows = new MessageRows(db);
    this.waiters = new SyncWaiters((uid, key, limit) => this.inbox.read(uid, key, limit));
    this.accounts = new Accounts(db);
    this.media = new Media(db, mediaDirOf(opts));
    this.profiles = new Profiles(db, this.media);
    this.peers = {
      userExists: (uid) => this.accounts.exists(uid),
      groupExists: (g) => this.groups.exists(g),
    };
    const chain = new ConversationChain(db);
    const conversationRows = new ConversationRows(db);
    this.conversations = new Conversations(
      db,
      conversationRows,
      () => this.inbox,
      rows,
      this.peers,
      chain,
      messaging.keepConversations ?? true,
    );
    this.inbox = new Inbox(
      db,
      (uid) => this.waiters.has(uid),
      (tx, owner, seq, m, conv) => this.conversations.entry(tx, owner, seq, m, conv),
    );
    this.commit = new GroupCommit(
      db,
      new Journals([this.inbox, conversationRows]),
      { committed: (b) => this.committed(b), lost: () => this.lost() },
      this.log,
    );
    this.logins = new LoginPolicy(opts.login);
    this.sendLimit = new SendLimit(opts.sendPerMinute ?? 0);
    this.users = new UserAdmin(db);
    this.jobs = new JobQueue(db, queue);
    this.webhooks = new WebhookDispatcher(opts.webhooks ?? [], this.jobs, this.commit, queue, this.log);
    const maxMembers = opts.groupsMaxMembers ?? DEFAULT_GROUPS_MAX_MEMBERS;
    this.groups = new Groups(db, this.accounts, this.inbox, rows, this.jobs, this.webhooks, maxMembers);
    this.contacts = new Contacts(db, this.accounts, this.inbox, rows);
    this.search = new Search(db);
    this.indexer = new SearchIndexer(db, this.commit, this.log);
    this.history = new History(chain, (uid, conv) => this.conversations.tail(uid, conv));
    this.recalls = new Recall(rows, this.inbox, this.indexer, this.media, this.jobs, messaging.recallWindowMs ?? DEFAULT_RECALL_WINDOW_MS);
    this.messaging = new Messaging(
      this.accounts,
      this.inbox,
      rows,
      this.groups,
      this.media,
      this.webhooks,
      this.contacts,
      messaging.contactsOnly ?? false,
    );
    this.fanout = new FanoutConsumer(
      this.jobs,
      this.commit,
      {
        members: (g, v) => this.groups.members(g, v),
        post: (job) => {
          const m = rows.get(job.m);
          if (!m) throw new Error(`fan-out job: no message ${job.m}`);
          // A message recalled before its fan-out still reaches every member (as recalled), but grants nothing.
          const mediaId = m.recalledAt === null ? job.media : undefined;
          return (tx, uid) => {
            this.inbox.append(tx, uid, m);
            if (mediaId !== undefined) this.media.grant(mediaId, uid, m.id);
          };
        },
        recall: (tx, job) => this.recalls.deliver(tx, job),
        release: (_tx, g, v) => this.groups.release(g, v),
        dead: (tx, job, error) => this.alert(tx, job, error),
      },
      queue,
      this.log,
    );
    this.platform = new Platform(db, this.commit, this.jobs, queue, this.log);
    this.webhooks.start(db);
    this.fanout.start();
    this.indexer.start();
  }

  // accounts

  createUser(a: { username: string; passwordHash: string }) {
    return this.commit.write((tx) => this.accounts.createUser(tx, a));
  }
  async findUserByName(a: { username: string }) {
    return this.accounts.findUserByName(a);
  }
  createSession(a: { uid: string; tokenHash: string; deviceId?: string }) {
    return this.commit.write((tx) => this.accounts.createSession(tx, a));
  }
  /** Answers only after the revocation is committed and token caches are told (TokenReader). */
  async revokeSession(a: { sessionId: string }) {
    const r = await this.commit.write(() => this.accounts.revokeSession(a));
    if (r.revoked) this.sessionsRevoked();
    return r;
  }
  async checkLogin(a: { username: string; ip: string }) {
    loginArgs(a);
    return this.logins.check(a.username, a.ip);
  }
  async recordLogin(a: { username: string; ip: string; ok: boolean }) {
    loginArgs(a);
    this.logins.record(a.username, a.ip, a.ok === true);
  }

  // administration (StoreAdminApi; the control port only, never a CGI's)

  async listUsers(a: ListUsersArgs) {
    return this.users.list(a ?? {});
  }
  async getUser(a: { username: string }) {
    return this.users.get(a?.username);
  }
  /** Like revokeSession: answered after the commit and after token caches are told, and the user's held syncs end. */
  async setUserDisabled(a: { username: string; disabled: boolean }) {
    const r = await this.commit.write((tx) => this.users.setUserDisabled(tx, a));
    if (a.disabled) {
      this.sessionsRevoked();
      this.waiters.releaseUser(r.user.uid);
    }
    return r.user;
  }
  async resetPassword(a: { username: string; passwordHash: string }) {
    const r = await this.commit.write((tx) => this.users.resetPassword(tx, a));
    this.sessionsRevoked();
    this.waiters.releaseUser(r.uid);
    this.logins.forgetAccount(a.username);
    return { revokedSessions: r.revokedSessions };
  }

  // messaging

  sendMessage(a: Parameters<StoreClient['sendMessage']>[0]) {
    return this.commit.write((tx) => {
      // A retry of a message already stored gets its answer even past the limit (its first answer may have been lost).
      const r = this.messaging.send(tx, a, () => this.sendLimit.admit(a.from, tx.now));
      if (tx.sent) this.sendLimit.spend(a.from, tx.now);
      return r;
    });
  }

  /** Entries after syncKey; with timeoutMs > 0 and none waiting, held until one is committed. */
  async sync(a: SyncArgs, ctx: CallContext = {}): Promise<SyncResult> {
    const { limit, timeoutMs } = syncBounds(a);
    const r = this.inbox.read(a.uid, a.syncKey, limit);
    if (r.messages.length > 0) return r;
    // A key past the end (a client ahead of a restored backup) would wait for seqs it already holds, and
    // silently skip every entry up to it: SPEC §10 says so at once, held or not.
    if (a.syncKey > 0) {
      const lastSeq = this.inbox.lastCommittedSeq(a.uid);
      if (a.syncKey > lastSeq) {
        throw new CgiError('SYNC_KEY_AHEAD', `syncKey ${a.syncKey} is past the last seq of this inbox (${lastSeq})`, { lastSeq });
      }
    }
    if (timeoutMs === 0 || !this.holding) return r;
    const requestId = ctx.requestId ?? `store-internal-${++this.internalRequests}`;
    const heldAt = performance.now();
    const held = await this.waiters.hold(a.uid, requestId, a.syncKey, limit, timeoutMs);
    ctx.heldMs = performance.now() - heldAt;
    return held;
  }

  /** Answers every held sync now (empty), and holds no new ones: the host is stopping. */
  releaseWaiters(): number {
    this.holding = false;
    const n = this.waiters.size;
    this.waiters.releaseAll();
    return n;
  }

  /** Ends a held sync of this request at once (the client went away). */
  cancel(requestId: string): boolean {
    return this.waiters.cancel(requestId);
  }

  // profiles

  setProfile(a: Parameters<StoreClient['setProfile']>[0]) {
    return this.commit.write((tx) => this.profiles.setProfile(tx, a));
  }
  async getProfiles(a: { uids: string[] }) {
    return this.profiles.getProfiles(a);
  }
  async findUser(a: { username: string }) {
    return this.profiles.findUser(a);
  }

  // contacts and blocking

  addContact(a: { uid: string; peer: string; greeting?: string }) {
    return this.commit.write((tx) => this.contacts.addContact(tx, a));
  }
  acceptContact(a: { uid: string; peer: string }) {
    return this.commit.write((tx) => this.contacts.acceptContact(tx, a));
  }
  declineContact(a: { uid: string; peer: string }) {
    return this.commit.write((tx) => this.contacts.declineContact(tx, a));
  }
  deleteContact(a: { uid: string; peer: string }) {
    return this.commit.write((tx) => this.contacts.deleteContact(tx, a));
  }
  async getContacts(a: { uid: string }) {
    return this.contacts.getContacts(a);
  }
  blockUser(a: { uid: string; peer: string }) {
    return this.commit.write((tx) => this.contacts.blockUser(tx, a));
  }
  unblockUser(a: { uid: string; peer: string }) {
    return this.commit.write((tx) => this.contacts.unblockUser(tx, a));
  }

  // conversations, history, recall, search

  async getConversations(a: { uid: string; limit: number }) {
    if (typeof a.uid !== 'string') invalid('uid is required');
    return { conversations: this.conversations.list(a.uid, clampInt(a.limit, 1, MAX_CONVERSATIONS_LIMIT, 100)) };
  }
  markRead(a: ConversationRef & { uid: string; seq: number }) {
    return this.commit.write((tx) => this.conversations.markRead(tx, a));
  }
  async getHistory(a: ConversationRef & { uid: string; beforeSeq?: number; limit: number }) {
    if (typeof a.uid !== 'string') invalid('uid is required');
    const { conv } = resolveConversation(a, this.peers);
    if (a.beforeSeq !== undefined && !(Number.isSafeInteger(a.beforeSeq) && a.beforeSeq >= 1))
      invalid('beforeSeq must be a positive integer');
    return this.history.page(a.uid, conv, a.beforeSeq, clampInt(a.limit, 1, MAX_HISTORY_LIMIT, 50));
  }
  /** Answered after the commit and after workers' cached message rows are told (InboxReads). */
  async recallMessage(a: { uid: string; msgId: string }) {
    const r = await this.commit.write((tx) => this.recalls.recall(tx, a));
    if (this.recallCount) Atomics.add(this.recallCount, 0, 1);
    return r;
  }
  async searchMessages(a: ConversationRef & { uid: string; query: string; limit: number }) {
    if (typeof a.uid !== 'string') invalid('uid is required');
    const scoped = (a.peer !== undefined && a.peer !== null) || (a.groupId !== undefined && a.groupId !== null);
    const scope = scoped ? resolveConversation(a, this.peers) : null;
    // What was just sent is found: the texts waiting for the indexer are indexed first.
    this.indexer.catchUp();
    return { messages: this.search.find(a.uid, a.query, scope, clampInt(a.limit, 1, MAX_SEARCH_LIMIT, 20)) };
  }

  // groups

  createGroup(a: { owner: string; name: string; members: string[] }) {
    return this.commit.write((tx) => this.groups.createGroup(tx, a));
  }
  addGroupMembers(a: { by: string; groupId: string; members: string[] }) {
    return this.commit.write((tx) => this.groups.addGroupMembers(tx, a));
  }
  removeGroupMembers(a: { by: string; groupId: string; members: string[] }) {
    return this.commit.write((tx) => this.groups.removeGroupMembers(tx, a));
  }
  async getGroup(a: { uid: string; groupId: string }) {
    return this.groups.getGroup(a);
  }

  // media

  async putMedia(a: PutMediaArgs) {
    this.accounts.requireUsers([a.uploader]);
    await this.media.place(a).catch((err: unknown) => {
      if (!isStorageFailure(err)) throw err;
      this.commit.health.failed(err, 'media');
      throw storeUnavailable(err);
    });
    return this.commit.write((tx) => {
      this.accounts.requireUsers([a.uploader]);
      return this.media.record(tx, a);
    });
  }
  async openMedia(a: { uid: string; mediaId: string }) {
    return this.media.open(a);
  }

  // host

  /** Delivers an event (an alert, for one) to the webhooks that listen to it, through the queue. */
  async emit(event: string, payload: unknown): Promise<void> {
    if (typeof event !== 'string' || event.length === 0) invalid('event must be a name');
    if (!this.webhooks.wants(event)) return;
    await this.commit.write((tx) => void this.webhooks.emit(tx, event, payload));
  }

  stats(): StoreStats {
    const q = this.jobs.stats();
    const topics = this.platform.dispatch.counts();
    // A topic whose consumer runs is listed even while it has no job.
    for (const t of Object.keys(topics)) {
      q.depth[t] ??= 0;
      q.lagSeconds[t] ??= 0;
      q.retries[t] ??= 0;
      q.deadLetters[t] ??= 0;
    }
    return {
      queueDepth: q.depth,
      queueLagSeconds: q.lagSeconds,
      queueRetries: q.retries,
      queueDeadLetters: q.deadLetters,
      queueTopics: topics,
      syncWaiters: this.waiters.size,
      messagesSent: Object.fromEntries(this.sent),
      inboxEntriesWritten: this.entriesWritten,
      commits: this.commit.commits,
      writesFailingSince: this.commit.health.unavailableSince ?? 0,
    };
  }

  /** Resolves once no write is queued and the fan-out has caught up (jobs in backoff aside). */
  async whenIdle(): Promise<void> {
    for (let quiet = 0; quiet < 2;) {
      await new Promise((r) => setTimeout(r, 1));
      quiet = this.commit.queued === 0 && !this.fanout.busy && this.webhooks.inFlight === 0 && !this.platform.busy ? quiet + 1 : 0;
    }
  }

  /** Stops the consumers, commits the queued writes, answers held syncs (empty), closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.holding = false;
    this.fanout.stop();
    this.platform.stop();
    this.indexer.stop();
    await this.webhooks.stop();
    this.commit.close();
    this.waiters.releaseAll();
    this.db.close();
  }

  private committed(b: Batch): void {
    // Before any of the batch's writes is answered (their answers go out after this turn's synchronous work).
    if (this.commitCount) Atomics.add(this.commitCount, 0, 1);
    this.entriesWritten += b.entries;
    for (const [type, n] of b.sent) this.sent.set(type, (this.sent.get(type) ?? 0) + n);
    if (b.retries.size > 0) this.jobs.countRetries(b.retries);
    if (b.wake.size > 0) this.waiters.wake(b.wake);
    if (b.topics.has(FANOUT)) this.fanout.wake();
    if (b.sent.has('text')) this.indexer.wake();
    if (b.topics.has(WEBHOOK)) this.webhooks.wake();
    if (b.topics.size > 0) this.platform.committed(b);
  }

  /** Token caches (TokenReader) drop what they hold: a session was deleted and is committed. */
  private sessionsRevoked(): void {
    if (this.revocations) Atomics.add(this.revocations, 0, 1);
  }

  private lost(): void {
    this.accounts.forget();
    this.groups.forget();
  }

  private alert(tx: Tx, job: JobRow, error: string): void {
    if (this.webhooks.wants('alert')) {
      this.webhooks.emit(tx, 'alert', { kind: 'job_dead', topic: job.topic, jobId: job.id, error });
    }
  }
}

function loginArgs(a: { username: unknown; ip: unknown }): void {
  if (typeof a?.username !== 'string' || typeof a.ip !== 'string') invalid('username and ip are required');
}
