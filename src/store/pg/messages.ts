/**
 * Sending on PostgreSQL (messages.ts's Messaging, as SQL), 1:1 and group,
 * idempotent on (sender, clientMsgId): the same checks and answers as the
 * SQLite engine (checkPayload, sameAnswer). The common send, a text to
 * someone else, goes in batches through schema.ts's cgihost_send_batch (see
 * sendDirect). Every other send is a transaction of its own: the checks, then
 * the inbox heads of sender and recipient (in uid order), then the message,
 * whose unique key makes a concurrent duplicate, on this host or another,
 * answer the first one's answer. A group post writes the sender's entry and a
 * fan-out job (fanout.ts) in that transaction.
 *
 * And the messages table (message-rows.ts as SQL): each message once;
 * (from_uid, client_msg_id) is unique, and an insert that meets a row another
 * transaction committed with the same key says so (`insertOnce` answers null)
 * instead of failing the transaction.
 */
import { CgiError } from '../../errors.js';
import type { MessageType, SendMessageArgs, SendMessageResult, SystemEventKind } from '../api.js';
import { messageFacts, messageValues, type MessageFacts, type NewMessage, type SentRow, type StoredMessage } from '../message-rows.js';
import { msgIdOf } from '../ids.js';
import { checkPayload, defined, MEDIA_KIND_OF_TYPE, sameAnswer, type Payload } from '../messages.js';
import type { MessageFanoutJob } from '../queue/fanout.js';
import type { PgAccounts } from './accounts.js';
import type { PgInbox } from './inbox.js';
import type { PgMedia } from './media.js';
import { mapError, type PgDb, type PgTx } from './db.js';
import type { Queryable } from './schema.js';
import type { PgFanoutPart, PgMessagesPart, WebhookSink } from './parts.js';
import type { PgContactsPart, PgGroupsPart } from './store.js';
import type { PgSendLimit } from './throttle.js';
import { Unchanged } from './conversations.js';

const BLOCKED_MESSAGE = 'this user does not accept your messages';
const NOT_A_CONTACT_MESSAGE = 'messages go to contacts only on this server';

/**
 * Batches of one-statement sends out at once (each holds a pooled connection
 * until its commit). One is the rule, as SQLite's single writer: the sends
 * that come meanwhile wait and go together, one commit and fsync for all (on
 * this 2-core machine, half the PostgreSQL CPU per send of two batches out).
 * Another goes out only when the last one has been out SLOW_BATCH_MS (waiting
 * on a head locked by another host's transaction, say), so a slow batch does
 * not hold up every send of the host.
 */
const SEND_BATCHES = 4;
const SLOW_BATCH_MS = 20;
/**
 * Sends in one batch at most: each is a savepoint, and a transaction with more
 * than 64 subtransactions that wrote makes every other session's snapshots slower.
 */
const SEND_BATCH_MAX = 48;

interface DirectSend {
  a: SendMessageArgs;
  p: Payload;
  resolve(r: SendMessageResult): void;
  reject(err: unknown): void;
}

/** A row of cgihost_send_batch: the new message's, the earlier send of the same clientMsgId ('first'), or an error. */
interface DirectRow extends Record<string, unknown> {
  i: number;
  status: 'sent' | 'first' | 'error';
  err: string | null;
  detail: string | null;
  msg_id: number | null;
  seq: number | null;
  created_at: number | null;
  first_to: string | null;
  first_group: string | null;
  first_type: string | null;
  first_content: string | null;
  first_media: string | null;
  first_duration: number | null;
  first_recalled: number | null;
}

export interface PgMessagingDeps {
  db: PgDb;
  accounts: PgAccounts;
  inbox: PgInbox;
  rows: PgMessages;
  media: PgMedia;
  contacts: () => PgContactsPart | undefined;
  groups: () => PgGroupsPart;
  fanout: PgFanoutPart;
  webhooks: () => WebhookSink;
  sendLimit: PgSendLimit;
  contactsOnly: boolean;
}

export class PgMessaging {
  constructor(private readonly d: PgMessagingDeps) {}

  /** Store commits of sends (stats): one per send on the transaction path, one per batch of cgihost_send_batch. */
  commits = 0;

  async send(a: SendMessageArgs): Promise<SendMessageResult> {
    const p = checkPayload(a);
    // A text to someone else that no webhook wants goes out in a batch.
    if (p.type === 'text' && p.to !== null && p.to !== a.from && !this.d.webhooks().wants('message.sent')) return this.sendDirect(a, p);
    const r = await this.sendInTransaction(a, p);
    this.commits++;
    return r;
  }

  private async sendInTransaction(a: SendMessageArgs, p: Payload): Promise<SendMessageResult> {
    const first = await this.d.rows.findByClientId(a.from, a.clientMsgId);
    if (first) return sameAnswer(first, p);
    try {
      return await this.d.db.tx((tx) => this.write(tx, a, p));
    } catch (err) {
      if (!(err instanceof Unchanged)) throw err;
      // Another transaction stored this (sender, clientMsgId) first: its answer, read now that it is committed.
      const row =
        (err.answer as Awaited<ReturnType<PgMessages['findByClientId']>>) ?? (await this.d.rows.findByClientId(a.from, a.clientMsgId));
      if (!row) throw new CgiError('INTERNAL', 'a concurrent send of this clientMsgId vanished');
      return sameAnswer(row, p);
    }
  }

  /**
   * The common send (a text from one user to another, no webhook wanting it):
   * queued, and sent with the others waiting in one statement, schema.ts's
   * cgihost_send_batch (one transaction, one commit for the batch, a
   * savepoint each). One batch is out at a time (see SEND_BATCHES); sends that
   * come meanwhile form the next one, so an idle host sends each at once and a
   * busy one commits many together (SQLite's group commit, on PostgreSQL).
   * The same checks, order, locks and answers as write().
   */
  private sendDirect(a: SendMessageArgs, p: Payload): Promise<SendMessageResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ a, p, resolve, reject });
      this.pump();
    });
  }

  private readonly waiting: DirectSend[] = [];
  private batchesOut = 0;
  /** When the last batch went out (performance.now()), and the timer that looks again once it is slow. */
  private lastBatchAt = 0;
  private slowTimer: NodeJS.Timeout | undefined;
  /** The users whose inbox heads the batches out lock (each in one batch at most). */
  private readonly inFlight = new Set<string>();

  /**
   * Sends the waiting sends as a batch when none is out, or when the last one
   * has been out SLOW_BATCH_MS (then up to SEND_BATCHES). A send whose sender
   * or recipient is in a batch out waits for the next one, and so does every
   * later send touching its users (each user's sends keep their order): two
   * batches of this host never wait on each other's head locks.
   */
  private pump(): void {
    while (this.waiting.length > 0 && this.batchesOut < SEND_BATCHES) {
      if (this.batchesOut > 0) {
        const wait = this.lastBatchAt + SLOW_BATCH_MS - performance.now();
        if (wait > 0) {
          this.slowTimer ??= setTimeout(() => {
            this.slowTimer = undefined;
            this.pump();
          }, wait);
          return;
        }
      }
      const batch: DirectSend[] = [];
      const held = new Set<string>();
      const rest: DirectSend[] = [];
      for (const w of this.waiting) {
        const users = [w.a.from, w.p.to!];
        if (batch.length < SEND_BATCH_MAX && users.every((u) => !held.has(u) && !this.inFlight.has(u))) batch.push(w);
        else {
          rest.push(w);
          for (const u of users) held.add(u);
        }
      }
      if (batch.length === 0) return;
      this.waiting.splice(0, this.waiting.length, ...rest);
      const users = new Set(batch.flatMap((b) => [b.a.from, b.p.to!]));
      for (const u of users) this.inFlight.add(u);
      this.batchesOut++;
      this.lastBatchAt = performance.now();
      void this.sendBatch(batch).finally(() => {
        for (const u of users) this.inFlight.delete(u);
        this.batchesOut--;
        this.pump();
      });
    }
  }

  private async sendBatch(batch: DirectSend[]): Promise<void> {
    const sends = JSON.stringify(batch.map(({ a, p }) => ({ f: a.from, t: p.to, c: p.content, k: a.clientMsgId })));
    let rows: DirectRow[];
    for (let attempt = 1; ; attempt++) {
      try {
        rows = await this.d.db.query<DirectRow>('SELECT * FROM cgihost_send_batch($1::jsonb, $2, $3, $4, $5)', [
          sends,
          Date.now(),
          this.d.sendLimit.perMinute,
          this.d.contactsOnly,
          this.d.inbox.keepsConversations,
        ]);
        this.commits++;
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < 5) continue;
        for (const b of batch) b.reject(err);
        return;
      }
    }
    const written = new Set<string>();
    const answered = new Set<number>();
    for (const r of rows) {
      const b = batch[r.i]!;
      answered.add(r.i);
      if (r.status === 'sent') {
        this.d.rows.stored('text');
        written.add(b.a.from).add(b.p.to!);
      }
      this.answer(b, r).then(b.resolve, b.reject);
    }
    this.d.inbox.committed([...written]);
    batch.forEach((b, i) => answered.has(i) || b.reject(new CgiError('INTERNAL', 'the send function left a send unanswered')));
  }

  /** One send's answer from its row of cgihost_send_batch. */
  private async answer({ a, p }: DirectSend, r: DirectRow): Promise<SendMessageResult> {
    if (r.status === 'sent') return { msgId: msgIdOf(r.msg_id!), seq: r.seq!, createdAt: r.created_at! };
    if (r.status === 'first') {
      return sameAnswer(
        {
          id: r.msg_id!,
          to_uid: r.first_to,
          group_id: r.first_group,
          type: r.first_type!,
          content: r.first_content,
          media_id: r.first_media,
          duration_ms: r.first_duration,
          sender_seq: r.seq!,
          created_at: r.created_at!,
          recalled_at: r.first_recalled,
        },
        p,
      );
    }
    switch (r.err) {
      case 'DUPLICATE': {
        // Another transaction stored this (sender, clientMsgId) first: its answer, read now that it is committed.
        const row = await this.d.rows.findByClientId(a.from, a.clientMsgId);
        if (!row) throw new CgiError('INTERNAL', 'a concurrent send of this clientMsgId vanished');
        return sameAnswer(row, p);
      }
      case 'NO_SUCH_USER':
        throw new CgiError('NO_SUCH_USER', `no such ${r.detail === 'sender' ? 'sender' : 'recipient'}`);
      case 'BLOCKED':
        throw new CgiError('BLOCKED', BLOCKED_MESSAGE);
      case 'NOT_A_CONTACT':
        throw new CgiError('NOT_A_CONTACT', NOT_A_CONTACT_MESSAGE);
      case 'RATE_LIMITED':
        throw this.d.sendLimit.limited(Number(r.detail));
      default:
        throw new CgiError('INTERNAL', `the send function answered ${r.err}`);
    }
  }

  private async write(tx: PgTx, a: SendMessageArgs, p: Payload): Promise<SendMessageResult> {
    const oneToOne = p.groupId === null;
    // The checks first: sends to the same inboxes wait on their heads' rows from reserveMany to the commit, so as few
    // round trips as can be happen in between (on a busy machine each is a wake-up of two processes).
    if (!(await this.d.accounts.exists(a.from, tx))) throw new CgiError('NO_SUCH_USER', 'no such sender');
    if (p.mediaId !== null) await this.checkMedia(tx, a.from, p.mediaId, a.type as keyof typeof MEDIA_KIND_OF_TYPE);
    let version = 0;
    // A group's row is taken before any inbox head, as a membership change takes them.
    if (!oneToOne) version = await this.d.groups().versionForPost(tx, p.groupId!, a.from);
    else await this.checkRecipient(tx, a.from, p.to!);

    const uids = oneToOne && p.to !== a.from ? [a.from, p.to!] : [a.from];
    const seqs = await this.d.inbox.reserveMany(tx, uids);
    // The send limit's bucket is read and spent under the sender's head (several hosts: one sender's sends take turns).
    await this.d.sendLimit.take(tx, a.from);
    const seq = seqs[0]!;
    const m = await this.d.rows.insertOnce(tx, {
      from: a.from,
      ...p,
      event: null,
      clientMsgId: a.clientMsgId,
      senderSeq: seq,
      createdAt: tx.now,
    });
    if (!m) throw new Unchanged(null);
    await this.d.inbox.put(tx, a.from, seq, m);
    if (!oneToOne) {
      const members = await this.d.groups().members(p.groupId!, version);
      if (!(members.length === 1 && members[0] === a.from)) {
        const job: MessageFanoutJob = { m: m.id, g: p.groupId!, v: version, x: a.from };
        if (p.mediaId !== null) job.media = p.mediaId;
        await this.d.fanout.enqueue(tx, p.groupId!, job);
      }
    } else if (seqs.length > 1) {
      await this.d.inbox.put(tx, p.to!, seqs[1]!, m);
      if (p.mediaId !== null) await this.d.media.grant(tx, p.mediaId, p.to!, m.id);
    }
    const webhooks = this.d.webhooks();
    if (webhooks.wants('message.sent')) {
      await webhooks.emit(tx, 'message.sent', { msgId: msgIdOf(m.id), from: a.from, ...defined(p), createdAt: tx.now });
    }
    return { msgId: msgIdOf(m.id), seq, createdAt: tx.now };
  }

  private async checkRecipient(tx: PgTx, from: string, to: string): Promise<void> {
    if (!(await this.d.accounts.exists(to, tx))) throw new CgiError('NO_SUCH_USER', 'no such recipient');
    if (to === from) return;
    const contacts = this.d.contacts();
    if (!contacts) {
      // Without the contacts part, blocks and contacts are still read from their tables (the rules of contacts.ts).
      const { rows } = await tx.query('SELECT 1 FROM blocks WHERE uid = $1 AND blocked = $2', [to, from]);
      if (rows.length > 0) throw new CgiError('BLOCKED', BLOCKED_MESSAGE);
      if (this.d.contactsOnly) {
        const c = await tx.query('SELECT count(*)::int AS n FROM contacts WHERE (uid = $1 AND peer = $2) OR (uid = $2 AND peer = $1)', [
          from,
          to,
        ]);
        if ((c.rows[0] as { n: number }).n < 2) throw new CgiError('NOT_A_CONTACT', NOT_A_CONTACT_MESSAGE);
      }
      return;
    }
    if (await contacts.blocks(tx, to, from)) throw new CgiError('BLOCKED', BLOCKED_MESSAGE);
    if (this.d.contactsOnly && !(await contacts.mutual(tx, from, to))) {
      throw new CgiError('NOT_A_CONTACT', NOT_A_CONTACT_MESSAGE);
    }
  }

  private async checkMedia(tx: PgTx, uid: string, mediaId: string, type: keyof typeof MEDIA_KIND_OF_TYPE): Promise<void> {
    const rec = await this.d.media.readableBy(uid, mediaId, tx);
    if (!rec) throw new CgiError('NO_SUCH_MEDIA', 'no such media');
    if (rec.kind !== MEDIA_KIND_OF_TYPE[type]) {
      throw new CgiError('MEDIA_KIND_MISMATCH', `a ${type} message needs ${MEDIA_KIND_OF_TYPE[type]} media, not ${rec.kind}`);
    }
  }
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

  /** A message of this type was stored and committed by a server-side function (stats). */
  stored(type: string): void {
    this.sent(type);
  }

  async insert(tx: PgTx, m: NewMessage): Promise<MessageFacts> {
    const { rows } = await tx.query<{ id: number }>(`${INSERT} RETURNING id`, messageValues(m));
    tx.after(() => this.sent(m.type));
    return messageFacts(rows[0]!.id, m);
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
      messageValues(m),
    );
    if (rows.length === 0) return null;
    tx.after(() => this.sent(m.type));
    return messageFacts(rows[0]!.id, m);
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

function rethrow(err: unknown): never {
  throw mapError(err);
}
