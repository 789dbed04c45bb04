/**
 * Sending: 1:1 and group messages of every type, idempotent on (sender, clientMsgId).
 *
 * A 1:1 message writes the message and two entries, the recipient's and the
 * sender's. A message to oneself writes ONE entry (the sender's, which is also
 * the recipient's): an inbox never holds the same message twice. A 1:1 message
 * to someone who blocks the sender is refused (BLOCKED), and with
 * messaging.contactsOnly one to someone who is not a contact (NOT_A_CONTACT);
 * group messages are not affected by either.
 */
import { CgiError } from '../errors.js';
import type { SendMessageArgs, SendMessageResult } from './api.js';
import type { Tx } from './group-commit.js';
import type { Accounts } from './accounts.js';
import type { Contacts } from './contacts.js';
import type { Groups } from './groups.js';
import type { Inbox } from './inbox.js';
import type { Media } from './media.js';
import type { MessageRows, SentRow } from './message-rows.js';
import type { WebhookDispatcher } from './queue/webhooks.js';
import { msgIdOf } from './ids.js';
import { codePointsAtMost, invalid, isIntIn } from './validate.js';

const CLIENT_MSG_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TEXT_CODE_POINTS = 4096;
export const MEDIA_KIND_OF_TYPE = { voice: 'voice', image: 'image', video: 'video' } as const;

/** The payload as stored, to compare an idempotent retry with. */
export interface Payload {
  to: string | null;
  groupId: string | null;
  type: SendMessageArgs['type'];
  content: string | null;
  mediaId: string | null;
  durationMs: number | null;
}

export class Messaging {
  constructor(
    private readonly accounts: Accounts,
    private readonly inbox: Inbox,
    private readonly rows: MessageRows,
    private readonly groups: Groups,
    private readonly media: Media,
    private readonly webhooks: WebhookDispatcher,
    private readonly contacts: Contacts,
    private readonly contactsOnly: boolean,
  ) {}

  /** `admitNew` is asked before a new message is stored (the send limit), never for a retry of one already stored. */
  send(tx: Tx, a: SendMessageArgs, admitNew?: () => void): SendMessageResult {
    const p = checkPayload(a);
    const first = this.rows.findByClientId(a.from, a.clientMsgId);
    if (first) return sameAnswer(first, p);
    admitNew?.();
    if (!this.accounts.exists(a.from)) throw new CgiError('NO_SUCH_USER', 'no such sender');
    if (p.mediaId !== null) this.checkMedia(a.from, p.mediaId, a.type as keyof typeof MEDIA_KIND_OF_TYPE);

    let version = 0;
    if (p.groupId !== null) version = this.groups.versionForPost(p.groupId, a.from);
    else this.checkRecipient(a.from, p.to!);

    const seq = this.inbox.reserve(a.from);
    const m = this.rows.insert({ from: a.from, ...p, event: null, clientMsgId: a.clientMsgId, senderSeq: seq, createdAt: tx.now });
    if (p.groupId !== null) {
      this.groups.post(tx, p.groupId, version, seq, m, p.mediaId);
    } else {
      this.inbox.put(tx, a.from, seq, m);
      if (p.to !== a.from) {
        this.inbox.append(tx, p.to!, m);
        if (p.mediaId !== null) this.media.grant(p.mediaId, p.to!, m.id);
      }
    }
    tx.countSent(p.type);
    if (this.webhooks.wants('message.sent')) {
      this.webhooks.emit(tx, 'message.sent', { msgId: msgIdOf(m.id), from: a.from, ...defined(p), createdAt: tx.now });
    }
    return { msgId: msgIdOf(m.id), seq, createdAt: tx.now };
  }

  private checkRecipient(from: string, to: string): void {
    if (!this.accounts.exists(to)) throw new CgiError('NO_SUCH_USER', 'no such recipient');
    if (to === from) return;
    if (this.contacts.blocks(to, from)) throw new CgiError('BLOCKED', 'this user does not accept your messages');
    if (this.contactsOnly && !this.contacts.mutual(from, to)) {
      throw new CgiError('NOT_A_CONTACT', 'messages go to contacts only on this server');
    }
  }

  private checkMedia(uid: string, mediaId: string, type: keyof typeof MEDIA_KIND_OF_TYPE): void {
    const rec = this.media.readableBy(uid, mediaId);
    if (!rec) throw new CgiError('NO_SUCH_MEDIA', 'no such media');
    if (rec.kind !== MEDIA_KIND_OF_TYPE[type]) {
      throw new CgiError('MEDIA_KIND_MISMATCH', `a ${type} message needs ${MEDIA_KIND_OF_TYPE[type]} media, not ${rec.kind}`);
    }
  }
}

/** Validates the fields by type and normalizes absent ones to null. */
export function checkPayload(a: SendMessageArgs): Payload {
  if (typeof a.clientMsgId !== 'string' || !CLIENT_MSG_ID.test(a.clientMsgId)) {
    invalid('clientMsgId must be 1 to 64 characters of [A-Za-z0-9_-]');
  }
  const hasTo = a.to !== undefined && a.to !== null;
  const hasGroup = a.groupId !== undefined && a.groupId !== null;
  if (hasTo === hasGroup) invalid('exactly one of to and groupId is required');
  if ((hasTo && typeof a.to !== 'string') || (hasGroup && typeof a.groupId !== 'string')) invalid('to and groupId are ids');
  const p: Payload = {
    to: hasTo ? a.to! : null,
    groupId: hasGroup ? a.groupId! : null,
    type: a.type,
    content: null,
    mediaId: null,
    durationMs: null,
  };
  switch (a.type) {
    case 'text':
      if (typeof a.content !== 'string' || a.content.length === 0 || !codePointsAtMost(a.content, MAX_TEXT_CODE_POINTS)) {
        invalid(`text content must be 1 to ${MAX_TEXT_CODE_POINTS} code points`);
      }
      if (!a.content.isWellFormed()) invalid('text content is not well-formed Unicode');
      // Neither engine stores U+0000 (PostgreSQL's text cannot: an install must always be able to move to it).
      if (a.content.includes('\0')) invalid('text content must not contain U+0000 (NUL)');
      if (a.mediaId !== undefined || a.durationMs !== undefined) invalid('a text message has no mediaId or durationMs');
      p.content = a.content;
      break;
    case 'voice':
      if (!isIntIn(a.durationMs, 1, 60_000)) invalid('durationMs must be an integer from 1 to 60000');
      p.durationMs = a.durationMs;
    // falls through: voice also needs media
    case 'image':
    case 'video':
      if (typeof a.mediaId !== 'string') invalid(`a ${a.type} message needs a mediaId`);
      if (a.content !== undefined) invalid(`a ${a.type} message has no content`);
      if (a.type !== 'voice' && a.durationMs !== undefined) invalid(`a ${a.type} message has no durationMs`);
      p.mediaId = a.mediaId;
      break;
    default:
      invalid('type must be text, voice, image or video');
  }
  return p;
}

/**
 * An idempotent retry: the first answer again if the payload is the same, else
 * a conflict. A recalled message's payload is gone: its target and type are
 * all that can be compared.
 */
export function sameAnswer(first: SentRow, p: Payload): SendMessageResult {
  const same =
    first.to_uid === p.to &&
    first.group_id === p.groupId &&
    first.type === p.type &&
    (first.recalled_at !== null || (first.content === p.content && first.media_id === p.mediaId && first.duration_ms === p.durationMs));
  if (!same) {
    throw new CgiError('IDEMPOTENCY_CONFLICT', 'this clientMsgId was already used for a different message', {
      msgId: msgIdOf(first.id),
    });
  }
  return { msgId: msgIdOf(first.id), seq: first.sender_seq, createdAt: first.created_at };
}

export function defined(p: Payload): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (v !== null) out[k] = v;
  return out;
}
