/**
 * Sending on PostgreSQL (messages.ts's Messaging, as SQL), 1:1 and group,
 * idempotent on (sender, clientMsgId): the same checks and answers as the
 * SQLite engine (checkPayload, sameAnswer). One transaction per send: the
 * inbox heads of sender and recipient are locked first (in uid order), then
 * the retry is looked for again, so a concurrent duplicate, on this host or
 * another, finds the first one committed and answers its answer. A group post
 * writes the sender's entry and a fan-out job (fanout.ts) in that transaction.
 */
import { CgiError } from '../../errors.js';
import type { SendMessageArgs, SendMessageResult } from '../api.js';
import { msgIdOf } from '../ids.js';
import { checkPayload, defined, MEDIA_KIND_OF_TYPE, sameAnswer, type Payload } from '../messages.js';
import type { MessageFanoutJob } from '../queue/fanout.js';
import type { PgDb, PgTx } from './db.js';
import type { PgAccounts } from './accounts.js';
import type { PgInbox } from './inbox.js';
import type { PgMedia } from './media.js';
import type { PgMessages } from './message-rows.js';
import type { PgFanoutPart, WebhookSink } from './parts.js';
import type { PgContactsPart, PgGroupsPart } from './store.js';
import type { PgSendLimit } from './throttle.js';
import { Unchanged } from './conversations.js';

export { PgMessages } from './message-rows.js';

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

  async send(a: SendMessageArgs): Promise<SendMessageResult> {
    const p = checkPayload(a);
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

  private async write(tx: PgTx, a: SendMessageArgs, p: Payload): Promise<SendMessageResult> {
    const oneToOne = p.groupId === null;
    const uids = oneToOne && p.to !== a.from ? [a.from, p.to!] : [a.from];
    const seqs = await this.d.inbox.reserveMany(tx, uids);
    // With the sender's head locked, a send of the same clientMsgId that got there first is committed: answer it.
    const again = await this.d.rows.findByClientId(a.from, a.clientMsgId, tx);
    if (again) throw new Unchanged(again);
    await this.d.sendLimit.take(tx, a.from);
    if (!(await this.d.accounts.exists(a.from, tx))) throw new CgiError('NO_SUCH_USER', 'no such sender');
    if (p.mediaId !== null) await this.checkMedia(tx, a.from, p.mediaId, a.type as keyof typeof MEDIA_KIND_OF_TYPE);

    let version = 0;
    if (!oneToOne) version = await this.d.groups().versionForPost(tx, p.groupId!, a.from);
    else await this.checkRecipient(tx, a.from, p.to!);

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
      if (rows.length > 0) throw new CgiError('BLOCKED', 'this user does not accept your messages');
      if (this.d.contactsOnly) {
        const c = await tx.query('SELECT count(*)::int AS n FROM contacts WHERE (uid = $1 AND peer = $2) OR (uid = $2 AND peer = $1)', [
          from,
          to,
        ]);
        if ((c.rows[0] as { n: number }).n < 2) throw new CgiError('NOT_A_CONTACT', 'messages go to contacts only on this server');
      }
      return;
    }
    if (await contacts.blocks(tx, to, from)) throw new CgiError('BLOCKED', 'this user does not accept your messages');
    if (this.d.contactsOnly && !(await contacts.mutual(tx, from, to))) {
      throw new CgiError('NOT_A_CONTACT', 'messages go to contacts only on this server');
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
