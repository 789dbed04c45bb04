/**
 * Inboxes: each user's dense sequence of entries (seq 1, 2, 3...), each pointing
 * at a message stored once.
 *
 * The store thread is the only writer, so it keeps each user's last seq in
 * memory (loaded once with MAX(seq)) instead of reading it back per entry. The
 * cache is journaled: an operation rolled back to its savepoint, or a lost
 * transaction, restores the values it had, so a seq is never skipped.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Journal, Tx } from './group-commit.js';
import type { MessageType, SyncMessage, SyncResult, SystemEvent } from './api.js';
import { msgIdOf } from './ids.js';

/** Past this many cached users the cache is dropped between transactions (it reloads lazily). */
const MAX_CACHED_SEQS = 200_000;

interface EntryRow {
  seq: number;
  id: number;
  from_uid: string;
  to_uid: string | null;
  group_id: string | null;
  type: MessageType;
  content: string | null;
  media_id: string | null;
  duration_ms: number | null;
  event: string | null;
  client_msg_id: string | null;
  created_at: number;
}

export class Inbox implements Journal {
  private readonly lastSeq = new Map<string, number>();
  /** Undo log of lastSeq: uid, previous value (undefined: was not cached). */
  private undo: Array<[string, number | undefined]> = [];
  private readonly maxSeq: Statement<[string], number>;
  private readonly insert: Statement<[string, number, number]>;
  private readonly range: Statement<[string, number, number], EntryRow>;

  constructor(
    db: Db,
    /** Whether a sync of this user is held (only those need a wake-up). */
    private readonly watched: (uid: string) => boolean,
  ) {
    this.maxSeq = db.prepare<[string], number>('SELECT COALESCE(MAX(seq), 0) FROM inbox WHERE uid = ?').pluck();
    this.insert = db.prepare('INSERT INTO inbox (uid, seq, msg_id) VALUES (?, ?, ?)');
    // One range scan of the user's inbox plus a primary-key lookup per entry.
    this.range = db.prepare<[string, number, number], EntryRow>(
      `SELECT i.seq, m.id, m.from_uid, m.to_uid, m.group_id, m.type, m.content, m.media_id,
              m.duration_ms, m.event, m.client_msg_id, m.created_at
         FROM inbox i JOIN messages m ON m.id = i.msg_id
        WHERE i.uid = ? AND i.seq > ?
        ORDER BY i.seq LIMIT ?`,
    );
  }

  /** Writes the next entry of `uid`'s inbox; returns its seq. */
  append(tx: Tx, uid: string, msgRowId: number): number {
    const prev = this.lastSeq.get(uid);
    const last = prev ?? this.maxSeq.get(uid)!;
    const seq = last + 1;
    this.undo.push([uid, prev]);
    this.lastSeq.set(uid, seq);
    this.insert.run(uid, seq, msgRowId);
    tx.entries++;
    if (this.watched(uid)) tx.wake(uid);
    return seq;
  }

  /** Entries of `uid` after `syncKey`, at most `limit`. */
  read(uid: string, syncKey: number, limit: number): SyncResult {
    const rows = this.range.all(uid, syncKey, limit + 1);
    const continueFlag = rows.length > limit;
    if (continueFlag) rows.pop();
    const messages = rows.map((r) => toSyncMessage(r, uid));
    return { messages, syncKey: rows.length > 0 ? rows[rows.length - 1]!.seq : syncKey, continueFlag };
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

function toSyncMessage(r: EntryRow, uid: string): SyncMessage {
  // Keys in the order of SPEC §4; absent fields are left out, never null.
  const m = { seq: r.seq, msgId: msgIdOf(r.id), from: r.from_uid } as SyncMessage;
  if (r.to_uid !== null) m.to = r.to_uid;
  if (r.group_id !== null) m.groupId = r.group_id;
  m.type = r.type;
  if (r.content !== null) m.content = r.content;
  if (r.media_id !== null) m.mediaId = r.media_id;
  if (r.duration_ms !== null) m.durationMs = r.duration_ms;
  if (r.event !== null) m.event = JSON.parse(r.event) as SystemEvent;
  // The client's own id is shown only to the sender (on any of the sender's devices).
  if (r.client_msg_id !== null && r.from_uid === uid) m.clientMsgId = r.client_msg_id;
  m.createdAt = r.created_at;
  return m;
}
