/**
 * Inboxes: each user's dense sequence of entries (seq 1, 2, 3...), each pointing
 * at a message stored once, and linked (`prev`) to the previous entry of its
 * conversation in its owner's view (the peer of a 1:1 message, the group of a
 * group message), so that a conversation's past reads without scanning the inbox.
 *
 * The store thread is the only writer, so it keeps each user's last seq in
 * memory (loaded once with MAX(seq)) instead of reading it back per entry. The
 * cache is journaled: an operation rolled back to its savepoint, or a lost
 * transaction, restores the values it had, so a seq is never skipped.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Journal, Tx } from './group-commit.js';
import type { InboxTable } from './engine.js';
import type { SyncResult } from './api.js';
import type { MessageFacts } from './message-rows.js';
import { InboxReads } from './inbox-reads.js';

/** Past this many cached users the cache is dropped between transactions (it reloads lazily). */
const MAX_CACHED_SEQS = 200_000;

/**
 * Told of every entry about to be written, in its transaction (the conversation
 * rows are kept this way); answers the seq of the conversation's previous entry.
 */
export type EntryListener = (tx: Tx, owner: string, seq: number, m: MessageFacts, conv: string | null) => number | null;

/** The conversation an entry of message `m` belongs to in `owner`'s inbox; null for none. */
export function conversationOf(m: MessageFacts, owner: string): string | null {
  if (m.kind === 'contact_request') return null;
  if (m.groupId !== null) return m.groupId;
  return m.from === owner ? m.to : m.from;
}

export class Inbox implements Journal, InboxTable {
  private readonly lastSeq = new Map<string, number>();
  /** Undo log of lastSeq: uid, previous value (undefined: was not cached). */
  private undo: Array<[string, number | undefined]> = [];
  private readonly reads: InboxReads;
  private readonly insert: Statement<[string, number, number, number | null]>;
  private readonly holdersOf: Statement<[number], { uid: string; seq: number }>;

  constructor(
    db: Db,
    /** Whether a sync of this user is held (only those need a wake-up). */
    private readonly watched: (uid: string) => boolean,
    private readonly listener: EntryListener,
  ) {
    this.reads = new InboxReads(db);
    this.insert = db.prepare('INSERT INTO inbox (uid, seq, msg_id, prev) VALUES (?, ?, ?, ?)');
    this.holdersOf = db.prepare('SELECT uid, seq FROM inbox WHERE msg_id = ?');
  }

  /** Writes the next entry of `uid`'s inbox; returns its seq. */
  append(tx: Tx, uid: string, m: MessageFacts): number {
    const seq = this.reserve(uid);
    this.put(tx, uid, seq, m);
    return seq;
  }

  /**
   * Takes the next seq of `uid` without writing the entry yet (a message row
   * records its sender's seq before the entry can point at the row). The caller
   * must `put` it in the same savepoint.
   */
  reserve(uid: string): number {
    const prev = this.lastSeq.get(uid);
    const seq = (prev ?? this.reads.lastSeq(uid)) + 1;
    this.undo.push([uid, prev]);
    this.lastSeq.set(uid, seq);
    return seq;
  }

  put(tx: Tx, uid: string, seq: number, m: MessageFacts): void {
    const prev = this.listener(tx, uid, seq, m, conversationOf(m, uid));
    this.insert.run(uid, seq, m.id, prev);
    tx.entries++;
    if (this.watched(uid)) tx.wake(uid);
  }

  /** The last committed seq of `uid`'s inbox (0 when empty): read between transactions, never mid-batch. */
  lastCommittedSeq(uid: string): number {
    return this.reads.lastSeq(uid);
  }

  /** Entries of `uid` after `syncKey`, at most `limit`. */
  read(uid: string, syncKey: number, limit: number): SyncResult {
    return this.reads.read(uid, syncKey, limit);
  }

  /** Every inbox holding message `msgRowId`, with the entry's seq. */
  holders(msgRowId: number): Array<{ uid: string; seq: number }> {
    return this.holdersOf.all(msgRowId);
  }

  mark(): number {
    return this.undo.length;
  }

  rollbackTo(mark: number): void {
    for (let i = this.undo.length - 1; i >= mark; i--) {
      const [uid, prev] = this.undo[i]!;
      if (prev === undefined) this.lastSeq.delete(uid);
      else this.lastSeq.set(uid, prev);
    }
    this.undo.length = mark;
  }

  commit(): void {
    this.undo = [];
    if (this.lastSeq.size > MAX_CACHED_SEQS) this.lastSeq.clear();
  }

  rollbackAll(): void {
    this.rollbackTo(0);
  }
}
