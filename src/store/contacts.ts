/**
 * Contacts and blocking (SPEC §6). A contact list is each user's own: both
 * sides are written when two users become contacts, and `delcontact` removes
 * the other from the caller's list only. Requests wait in contact_requests
 * until accepted or declined; repeating a request or an accept writes nothing.
 *
 * Blocking is one-sided and global for 1:1: while A blocks B, B's 1:1
 * messages and contact requests to A are refused (BLOCKED). Blocking also
 * drops any request waiting between the two, in either direction.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import type { ContactAddedEvent, ContactList, ContactRequestEvent, SystemEvent } from './api.js';
import type { Accounts } from './accounts.js';
import type { Inbox } from './inbox.js';
import { systemMessage, type MessageRows } from './message-rows.js';
import { codePointsAtMost, invalid } from './validate.js';

export const MAX_GREETING = 200;

type Empty = Record<string, never>;

export class Contacts {
  private readonly s: ReturnType<typeof statements>;

  constructor(
    db: Db,
    private readonly accounts: Accounts,
    private readonly inbox: Inbox,
    private readonly rows: MessageRows,
  ) {
    this.s = statements(db);
  }

  /** Whether `uid` blocks `other`. */
  blocks(uid: string, other: string): boolean {
    return this.s.isBlocked.get(uid, other) !== undefined;
  }

  /** Whether each of the two has the other in their list (what messaging.contactsOnly asks for). */
  mutual(a: string, b: string): boolean {
    return this.s.hasContact.get(a, b) !== undefined && this.s.hasContact.get(b, a) !== undefined;
  }

  addContact(tx: Tx, a: { uid: string; peer: string; greeting?: string }): { status: 'requested' | 'added' } {
    const peer = this.other(a);
    const greeting = checkGreeting(a.greeting);
    if (this.blocks(peer, a.uid)) throw new CgiError('BLOCKED', 'this user does not accept your requests');
    if (this.s.hasContact.get(a.uid, peer) !== undefined && this.s.hasContact.get(peer, a.uid) !== undefined) return { status: 'added' };
    // They asked first, or still list the caller (the caller had removed them): no need to ask.
    if (this.s.request.get(a.uid, peer) !== undefined || this.s.hasContact.get(peer, a.uid) !== undefined) {
      this.becomeContacts(tx, a.uid, peer);
      return { status: 'added' };
    }
    if (this.s.request.get(peer, a.uid) !== undefined) return { status: 'requested' };
    this.s.insertRequest.run(peer, a.uid, greeting ?? null, tx.now);
    const event: ContactRequestEvent = { kind: 'contact_request', by: a.uid };
    if (greeting !== undefined) event.greeting = greeting;
    this.inbox.append(tx, peer, this.system(tx, a.uid, peer, event));
    return { status: 'requested' };
  }

  acceptContact(tx: Tx, a: { uid: string; peer: string }): { status: 'added' } {
    const peer = this.other(a);
    const asked = this.s.request.get(a.uid, peer) !== undefined;
    const listsCaller = this.s.hasContact.get(peer, a.uid) !== undefined;
    if (listsCaller && this.s.hasContact.get(a.uid, peer) !== undefined) return { status: 'added' };
    if (!asked && !listsCaller) throw new CgiError('FORBIDDEN', 'this user has not asked to be your contact');
    this.becomeContacts(tx, a.uid, peer);
    return { status: 'added' };
  }

  declineContact(_tx: Tx, a: { uid: string; peer: string }): Empty {
    const peer = this.other(a);
    this.s.deleteRequest.run(a.uid, peer);
    return {};
  }

  deleteContact(_tx: Tx, a: { uid: string; peer: string }): Empty {
    const peer = this.other(a);
    this.s.deleteContact.run(a.uid, peer);
    return {};
  }

  blockUser(tx: Tx, a: { uid: string; peer: string }): Empty {
    const peer = this.other(a);
    this.s.insertBlock.run(a.uid, peer, tx.now);
    this.s.deleteRequest.run(a.uid, peer);
    this.s.deleteRequest.run(peer, a.uid);
    return {};
  }

  unblockUser(_tx: Tx, a: { uid: string; peer: string }): Empty {
    const peer = this.other(a);
    this.s.deleteBlock.run(a.uid, peer);
    return {};
  }

  getContacts(a: { uid: string }): ContactList {
    if (typeof a.uid !== 'string') invalid('uid is required');
    return {
      contacts: this.s.contacts.all(a.uid).map((r) => {
        const c = { uid: r.uid, username: r.username, displayName: r.display_name ?? r.username } as ContactList['contacts'][number];
        if (r.avatar_media_id !== null) c.avatarMediaId = r.avatar_media_id;
        c.since = r.since;
        return c;
      }),
      incoming: this.s.incoming
        .all(a.uid)
        .map((r) => (r.greeting === null ? { uid: r.uid, at: r.at } : { uid: r.uid, greeting: r.greeting, at: r.at })),
      outgoing: this.s.outgoing.all(a.uid),
      blocked: this.s.blocked.all(a.uid),
    };
  }

  /** Both lists get the other; waiting requests go; both inboxes get `contact_added`. */
  private becomeContacts(tx: Tx, by: string, other: string): void {
    this.s.insertContact.run(by, other, tx.now);
    this.s.insertContact.run(other, by, tx.now);
    this.s.deleteRequest.run(by, other);
    this.s.deleteRequest.run(other, by);
    const event: ContactAddedEvent = { kind: 'contact_added', by, members: [by, other] };
    const seq = this.inbox.reserve(by);
    const m = this.system(tx, by, other, event, seq);
    this.inbox.put(tx, by, seq, m);
    this.inbox.append(tx, other, m);
  }

  private system(tx: Tx, from: string, to: string, event: SystemEvent, senderSeq: number | null = null) {
    tx.countSent('system');
    return this.rows.insert(systemMessage({ from, to, groupId: null, event, senderSeq, createdAt: tx.now }));
  }

  /** The `peer` of a call: an existing user other than the caller. */
  private other(a: { uid: string; peer: string }): string {
    if (typeof a.uid !== 'string' || typeof a.peer !== 'string') invalid('uid and peer are required');
    if (a.peer === a.uid) invalid('that is yourself');
    if (!this.accounts.exists(a.peer)) throw new CgiError('NO_SUCH_USER', 'no such user');
    return a.peer;
  }
}

/** The greeting to store (undefined: none), or INVALID_INPUT (both engines). */
export function checkGreeting(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !codePointsAtMost(v, MAX_GREETING)) invalid(`greeting must be at most ${MAX_GREETING} characters`);
  if (!v.isWellFormed()) invalid('greeting is not well-formed Unicode');
  // Neither engine stores U+0000 (PostgreSQL's text cannot: an install must always be able to move).
  if (v.includes('\0')) invalid('greeting must not contain U+0000 (NUL)');
  return v.length === 0 ? undefined : v;
}

function statements(db: Db) {
  return {
    isBlocked: db.prepare<[string, string], number>('SELECT 1 FROM blocks WHERE uid = ? AND blocked = ?').pluck(),
    hasContact: db.prepare<[string, string], number>('SELECT 1 FROM contacts WHERE uid = ? AND peer = ?').pluck(),
    /** (to, from): `from` asked `to`. */
    request: db.prepare<[string, string], number>('SELECT 1 FROM contact_requests WHERE to_uid = ? AND from_uid = ?').pluck(),
    insertRequest: db.prepare<[string, string, string | null, number]>(
      'INSERT INTO contact_requests (to_uid, from_uid, greeting, at) VALUES (?, ?, ?, ?)',
    ),
    deleteRequest: db.prepare<[string, string]>('DELETE FROM contact_requests WHERE to_uid = ? AND from_uid = ?'),
    insertContact: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO contacts (uid, peer, since) VALUES (?, ?, ?)'),
    deleteContact: db.prepare<[string, string]>('DELETE FROM contacts WHERE uid = ? AND peer = ?'),
    insertBlock: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO blocks (uid, blocked, at) VALUES (?, ?, ?)'),
    deleteBlock: db.prepare<[string, string]>('DELETE FROM blocks WHERE uid = ? AND blocked = ?'),
    contacts: db.prepare<
      [string],
      { uid: string; username: string; display_name: string | null; avatar_media_id: string | null; since: number }
    >(
      `SELECT u.uid, u.username, u.display_name, u.avatar_media_id, c.since
         FROM contacts c JOIN users u ON u.uid = c.peer
        WHERE c.uid = ? ORDER BY COALESCE(u.display_name, u.username) COLLATE NOCASE, u.uid`,
    ),
    incoming: db.prepare<[string], { uid: string; greeting: string | null; at: number }>(
      'SELECT from_uid AS uid, greeting, at FROM contact_requests WHERE to_uid = ? ORDER BY at DESC, from_uid',
    ),
    outgoing: db.prepare<[string], { uid: string; at: number }>(
      'SELECT to_uid AS uid, at FROM contact_requests WHERE from_uid = ? ORDER BY at DESC, to_uid',
    ),
    blocked: db.prepare<[string], string>('SELECT blocked FROM blocks WHERE uid = ? ORDER BY at DESC, blocked').pluck(),
  };
}
