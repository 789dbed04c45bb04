/**
 * Profiles, contacts and blocking on PostgreSQL (SPEC §6): the SQLite
 * engine's profiles.ts and contacts.ts as async SQL, answering the same (the
 * argument checks and the answer shapes are theirs, imported).
 *
 * Each write is one transaction of its own. The SQLite store has one writer,
 * so its check-then-write steps never interleave; here several hosts write,
 * so every write about a pair of users first takes a transaction-level
 * advisory lock on that pair: two users adding each other at once end as
 * SQLite ends them (the second finds the first's request and both become
 * contacts), and an accept cannot deadlock with the other side's accept.
 */
import { CgiError } from '../../errors.js';
import type { ContactAddedEvent, ContactList, ContactRequestEvent, Profile, SystemEvent } from '../api.js';
import { checkGreeting } from '../contacts.js';
import { checkDisplayName, toProfile, MAX_PROFILES_ASKED, type ProfileRow } from '../profiles.js';
import { invalid } from '../validate.js';
import { isMediaId } from '../ids.js';
import { systemMessage, type MessageFacts } from '../message-rows.js';
import type { PgDb, PgTx } from './db.js';
import { rowsOf, userExists, type Reader } from './lookups.js';
import type { PgInboxPart, PgMessagesPart } from './parts.js';

type Empty = Record<string, never>;

/** The advisory lock space (first key) of a pair of users; the second key is a hash of the pair. */
const PAIR_LOCK_SPACE = 0x63670001;

const PROFILE_COLS = 'uid, username, display_name, avatar_media_id';

export interface PgSocialOptions {
  /** Told after commit of each system message written (StoreStats.messagesSent counts them by type). */
  countSent?: (type: string) => void;
}

export class PgContacts {
  constructor(
    private readonly db: PgDb,
    private readonly inbox: PgInboxPart,
    private readonly messages: PgMessagesPart,
    private readonly opts: PgSocialOptions = {},
  ) {}

  // Checks for the inbox's sends (in the send's transaction, or on the pool).

  /** Whether `uid` blocks `other`. */
  async blocks(q: Reader, uid: string, other: string): Promise<boolean> {
    return (await rowsOf(q, 'SELECT 1 FROM blocks WHERE uid = $1 AND blocked = $2', [uid, other])).length > 0;
  }

  /** Whether each of the two has the other in their list (what messaging.contactsOnly asks for). */
  async mutual(q: Reader, a: string, b: string): Promise<boolean> {
    const r = await rowsOf(q, 'SELECT count(*) AS n FROM contacts WHERE (uid = $1 AND peer = $2) OR (uid = $2 AND peer = $1)', [a, b]);
    return Number(r[0]!.n) === 2;
  }

  // Profiles (profiles.ts).

  setProfile(a: { uid: string; displayName?: string; avatarMediaId?: string | null }): Promise<Profile> {
    return this.db.tx(async (tx) => {
      const row = typeof a.uid === 'string' ? await this.profileRow(tx, 'uid', a.uid) : undefined;
      if (!row) throw new CgiError('NO_SUCH_USER', 'no such user');
      if (a.displayName !== undefined) {
        await tx.query('UPDATE users SET display_name = $1 WHERE uid = $2', [checkDisplayName(a.displayName), a.uid]);
      }
      if (a.avatarMediaId === null) {
        await tx.query('UPDATE users SET avatar_media_id = NULL WHERE uid = $1', [a.uid]);
      } else if (a.avatarMediaId !== undefined) {
        const rec = await this.readableMedia(tx, a.uid, a.avatarMediaId);
        if (!rec) throw new CgiError('NO_SUCH_MEDIA', 'no such media');
        if (rec.kind !== 'image') throw new CgiError('MEDIA_KIND_MISMATCH', `an avatar is an image, not ${rec.kind}`);
        await tx.query('UPDATE users SET avatar_media_id = $1 WHERE uid = $2', [rec.media_id, a.uid]);
      }
      return toProfile((await this.profileRow(tx, 'uid', a.uid))!);
    });
  }

  async getProfiles(a: { uids: string[] }): Promise<{ profiles: Profile[] }> {
    if (!Array.isArray(a.uids) || a.uids.length > MAX_PROFILES_ASKED || a.uids.some((u) => typeof u !== 'string')) {
      invalid(`uids must be a list of at most ${MAX_PROFILES_ASKED} uids`);
    }
    const asked = [...new Set(a.uids)];
    const rows = await this.db.query<ProfileRow & Record<string, unknown>>(
      `SELECT ${PROFILE_COLS} FROM users WHERE uid = ANY($1::text[])`,
      [asked],
    );
    const byUid = new Map(rows.map((r) => [r.uid, r]));
    // In the order asked, unknown uids left out.
    return { profiles: asked.flatMap((uid) => (byUid.has(uid) ? [toProfile(byUid.get(uid)!)] : [])) };
  }

  async findUser(a: { username: string }): Promise<Profile> {
    const row = typeof a.username === 'string' ? await this.profileRow(this.db, 'username', a.username.trim().toLowerCase()) : undefined;
    if (!row) throw new CgiError('NO_SUCH_USER', 'no such user');
    return toProfile(row);
  }

  // Contacts (contacts.ts).

  async addContact(a: { uid: string; peer: string; greeting?: string }): Promise<{ status: 'requested' | 'added' }> {
    this.checkPair(a);
    return this.db.tx(async (tx) => {
      const peer = await this.other(tx, a);
      const greeting = checkGreeting(a.greeting);
      if (await this.blocks(tx, peer, a.uid)) throw new CgiError('BLOCKED', 'this user does not accept your requests');
      const s = await this.pairState(tx, a.uid, peer);
      if (s.callerLists && s.peerLists) return { status: 'added' as const };
      // They asked first, or still list the caller (the caller had removed them): no need to ask.
      if (s.peerAsked || s.peerLists) {
        await this.becomeContacts(tx, a.uid, peer);
        return { status: 'added' as const };
      }
      if (s.callerAsked) return { status: 'requested' as const };
      await tx.query('INSERT INTO contact_requests (to_uid, from_uid, greeting, at) VALUES ($1, $2, $3, $4)', [
        peer,
        a.uid,
        greeting ?? null,
        tx.now,
      ]);
      const event: ContactRequestEvent = { kind: 'contact_request', by: a.uid };
      if (greeting !== undefined) event.greeting = greeting;
      await this.inbox.append(tx, peer, await this.system(tx, a.uid, peer, event));
      return { status: 'requested' as const };
    });
  }

  async acceptContact(a: { uid: string; peer: string }): Promise<{ status: 'added' }> {
    this.checkPair(a);
    return this.db.tx(async (tx) => {
      const peer = await this.other(tx, a);
      const s = await this.pairState(tx, a.uid, peer);
      if (s.peerLists && s.callerLists) return { status: 'added' as const };
      if (!s.peerAsked && !s.peerLists) throw new CgiError('FORBIDDEN', 'this user has not asked to be your contact');
      await this.becomeContacts(tx, a.uid, peer);
      return { status: 'added' as const };
    });
  }

  declineContact(a: { uid: string; peer: string }): Promise<Empty> {
    return this.pairWrite(a, async (tx, peer) => {
      await tx.query('DELETE FROM contact_requests WHERE to_uid = $1 AND from_uid = $2', [a.uid, peer]);
    });
  }

  deleteContact(a: { uid: string; peer: string }): Promise<Empty> {
    return this.pairWrite(a, async (tx, peer) => {
      await tx.query('DELETE FROM contacts WHERE uid = $1 AND peer = $2', [a.uid, peer]);
    });
  }

  blockUser(a: { uid: string; peer: string }): Promise<Empty> {
    return this.pairWrite(a, async (tx, peer) => {
      await tx.query('INSERT INTO blocks (uid, blocked, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [a.uid, peer, tx.now]);
      await tx.query('DELETE FROM contact_requests WHERE (to_uid = $1 AND from_uid = $2) OR (to_uid = $2 AND from_uid = $1)', [
        a.uid,
        peer,
      ]);
    });
  }

  unblockUser(a: { uid: string; peer: string }): Promise<Empty> {
    return this.pairWrite(a, async (tx, peer) => {
      await tx.query('DELETE FROM blocks WHERE uid = $1 AND blocked = $2', [a.uid, peer]);
    });
  }

  async getContacts(a: { uid: string }): Promise<ContactList> {
    if (typeof a.uid !== 'string') invalid('uid is required');
    // One snapshot for the four lists, as SQLite reads them between two writes.
    return this.db.tx(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const contacts = await rowsOf<{
        uid: string;
        username: string;
        display_name: string | null;
        avatar_media_id: string | null;
        since: number;
      }>(
        tx,
        // SQLite's COLLATE NOCASE: ASCII letters folded, then byte (code point) order.
        `SELECT u.uid, u.username, u.display_name, u.avatar_media_id, c.since
           FROM contacts c JOIN users u ON u.uid = c.peer
          WHERE c.uid = $1
          ORDER BY translate(COALESCE(u.display_name, u.username), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE "C", u.uid`,
        [a.uid],
      );
      const incoming = await rowsOf<{ uid: string; greeting: string | null; at: number }>(
        tx,
        'SELECT from_uid AS uid, greeting, at FROM contact_requests WHERE to_uid = $1 ORDER BY at DESC, from_uid',
        [a.uid],
      );
      const outgoing = await rowsOf<{ uid: string; at: number }>(
        tx,
        'SELECT to_uid AS uid, at FROM contact_requests WHERE from_uid = $1 ORDER BY at DESC, to_uid',
        [a.uid],
      );
      const blocked = await rowsOf<{ blocked: string }>(tx, 'SELECT blocked FROM blocks WHERE uid = $1 ORDER BY at DESC, blocked', [a.uid]);
      return {
        contacts: contacts.map((r) => {
          const c = { uid: r.uid, username: r.username, displayName: r.display_name ?? r.username } as ContactList['contacts'][number];
          if (r.avatar_media_id !== null) c.avatarMediaId = r.avatar_media_id;
          c.since = r.since;
          return c;
        }),
        incoming: incoming.map((r) => (r.greeting === null ? { uid: r.uid, at: r.at } : { uid: r.uid, greeting: r.greeting, at: r.at })),
        outgoing: outgoing.map((r) => ({ uid: r.uid, at: r.at })),
        blocked: blocked.map((r) => r.blocked),
      };
    });
  }

  /** A write about the caller and `peer`, under the pair's lock; answers {}. */
  private async pairWrite(a: { uid: string; peer: string }, fn: (tx: PgTx, peer: string) => Promise<void>): Promise<Empty> {
    this.checkPair(a);
    return this.db.tx(async (tx) => {
      await fn(tx, await this.other(tx, a));
      return {};
    });
  }

  /** Who lists whom and who asked whom, between the caller and `peer`. */
  private async pairState(tx: PgTx, uid: string, peer: string) {
    const { rows } = await tx.query<{ caller_lists: boolean; peer_lists: boolean; peer_asked: boolean; caller_asked: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM contacts WHERE uid = $1 AND peer = $2) AS caller_lists,
              EXISTS (SELECT 1 FROM contacts WHERE uid = $2 AND peer = $1) AS peer_lists,
              EXISTS (SELECT 1 FROM contact_requests WHERE to_uid = $1 AND from_uid = $2) AS peer_asked,
              EXISTS (SELECT 1 FROM contact_requests WHERE to_uid = $2 AND from_uid = $1) AS caller_asked`,
      [uid, peer],
    );
    const r = rows[0]!;
    return { callerLists: r.caller_lists, peerLists: r.peer_lists, peerAsked: r.peer_asked, callerAsked: r.caller_asked };
  }

  /** Both lists get the other; waiting requests go; both inboxes get `contact_added` (the caller's entry first). */
  private async becomeContacts(tx: PgTx, by: string, other: string): Promise<void> {
    await tx.query('INSERT INTO contacts (uid, peer, since) VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING', [by, other, tx.now]);
    await tx.query('DELETE FROM contact_requests WHERE (to_uid = $1 AND from_uid = $2) OR (to_uid = $2 AND from_uid = $1)', [by, other]);
    const event: ContactAddedEvent = { kind: 'contact_added', by, members: [by, other] };
    // Both inbox heads in one statement, in uid order, as every write that reaches two inboxes takes them (no deadlock with a send).
    const [seqBy, seqOther] = await this.inbox.reserveMany(tx, [by, other]);
    const m = await this.system(tx, by, other, event, seqBy!);
    await this.inbox.put(tx, by, seqBy!, m);
    await this.inbox.put(tx, other, seqOther!, m);
  }

  private async system(tx: PgTx, from: string, to: string, event: SystemEvent, senderSeq: number | null = null): Promise<MessageFacts> {
    const count = this.opts.countSent;
    if (count) tx.after(() => count('system'));
    return this.messages.insert(tx, systemMessage({ from, to, groupId: null, event, senderSeq, createdAt: tx.now }));
  }

  /** The argument checks of `other` that need no database (before a transaction is opened). */
  private checkPair(a: { uid: string; peer: string }): void {
    if (typeof a.uid !== 'string' || typeof a.peer !== 'string') invalid('uid and peer are required');
    if (a.peer === a.uid) invalid('that is yourself');
  }

  /** The `peer` of a call: an existing user other than the caller; takes the pair's lock. */
  private async other(tx: PgTx, a: { uid: string; peer: string }): Promise<string> {
    if (!(await userExists(tx, a.peer))) throw new CgiError('NO_SUCH_USER', 'no such user');
    const pair = a.uid < a.peer ? `${a.uid}\n${a.peer}` : `${a.peer}\n${a.uid}`;
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PAIR_LOCK_SPACE, pair]);
    return a.peer;
  }

  private async profileRow(q: Reader, by: 'uid' | 'username', value: string): Promise<ProfileRow | undefined> {
    return (await rowsOf<ProfileRow & Record<string, unknown>>(q, `SELECT ${PROFILE_COLS} FROM users WHERE ${by} = $1`, [value]))[0];
  }

  /** Media.readableBy's rule: uploaded by the user, brought to them by a message (not recalled), or someone's avatar. */
  private async readableMedia(q: Reader, uid: string, mediaId: unknown): Promise<{ media_id: string; kind: string } | undefined> {
    if (!isMediaId(mediaId)) return undefined;
    const rows = await rowsOf<{ media_id: string; kind: string }>(
      q,
      `SELECT m.media_id, m.kind FROM media m
        WHERE m.media_id = $1
          AND (EXISTS (SELECT 1 FROM media_access a WHERE a.media_id = $1 AND a.uid = $2)
               OR EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = $1))`,
      [mediaId, uid],
    );
    return rows[0];
  }
}
