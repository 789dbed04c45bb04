/**
 * Conversation rows in memory. The store thread is their only writer, so a
 * row read once stays true: an entry's update costs no read, and a row
 * changed several times in one transaction (20 messages of one group in a
 * fan-out batch) is written once, just before COMMIT.
 *
 * Journaled like the inbox's seq cache: an operation rolled back to its
 * savepoint takes its changes out of memory too, and a lost transaction drops
 * the whole cache (it reloads lazily), as does one past MAX_CACHED rows.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Journal } from './group-commit.js';

export interface ConversationState {
  isGroup: number;
  /** The newest entry of any kind. */
  tail: number;
  /** The newest entry other than read/receipt, and its message. */
  lastSeq: number | null;
  lastMsgId: number | null;
  readSeq: number;
  unread: number;
  /** The newest entry counting as unread, and its message. */
  lastInSeq: number | null;
  lastInMsgId: number | null;
  /** The peer's newest message a receipt was sent for. */
  receiptMsgId: number | null;
}

/** Rows kept between transactions at most (about 200 bytes each). */
const MAX_CACHED = 100_000;

interface Slot {
  uid: string;
  conv: string;
  /** null: no row in the table. */
  state: ConversationState | null;
  dirty: boolean;
  /** Whether the table holds a row for it (as of the last COMMIT): UPDATE, else INSERT. */
  stored: boolean;
}

type Row = [
  isGroup: number,
  tail: number,
  lastSeq: number | null,
  lastMsgId: number | null,
  readSeq: number,
  unread: number,
  lastInSeq: number | null,
  lastInMsgId: number | null,
  receiptMsgId: number | null,
];

const COLUMNS = 'is_group, tail_seq, last_seq, last_msg_id, read_seq, unread, last_in_seq, last_in_msg_id, receipt_msg_id';

export class ConversationRows implements Journal {
  private readonly slots = new Map<string, Slot>();
  /** Undo log: the slot's key and what it held before (undefined: it was not loaded). */
  private undo: Array<[string, Slot | undefined]> = [];
  /** The slots changed in this transaction (each written once before COMMIT). */
  private dirty = new Set<string>();
  private readonly load: Statement<[string, string], Row>;
  private readonly insert: Statement<[...Row, string, string]>;
  private readonly update: Statement<[...Row, string, string]>;

  constructor(db: Db) {
    this.load = db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM conversations WHERE uid = ? AND conv = ?`).raw();
    this.insert = db.prepare(`INSERT INTO conversations (${COLUMNS}, uid, conv) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.update = db.prepare(
      `UPDATE conversations SET is_group = ?, tail_seq = ?, last_seq = ?, last_msg_id = ?, read_seq = ?, unread = ?,
              last_in_seq = ?, last_in_msg_id = ?, receipt_msg_id = ?
        WHERE uid = ? AND conv = ?`,
    );
  }

  /** The row as this transaction sees it (null: none). */
  get(uid: string, conv: string): ConversationState | null {
    return this.slot(uid, conv).state;
  }

  /** Replaces the row (as this transaction sees it); written before COMMIT. */
  set(uid: string, conv: string, state: ConversationState): void {
    const key = uid + '\u0000' + conv;
    const before = this.slots.get(key) ?? this.slot(uid, conv);
    this.undo.push([key, before]);
    this.slots.set(key, { uid, conv, state, dirty: true, stored: before.stored });
    this.dirty.add(key);
  }

  /** Writes the changed rows: called by group commit just before COMMIT, outside any operation. */
  beforeCommit(): void {
    for (const key of this.dirty) {
      const s = this.slots.get(key);
      // Gone or clean again: the operation that changed it was rolled back.
      if (!s || !s.dirty || s.state === null) continue;
      const x = s.state;
      (s.stored ? this.update : this.insert).run(
        x.isGroup,
        x.tail,
        x.lastSeq,
        x.lastMsgId,
        x.readSeq,
        x.unread,
        x.lastInSeq,
        x.lastInMsgId,
        x.receiptMsgId,
        s.uid,
        s.conv,
      );
    }
  }

  mark(): number {
    return this.undo.length;
  }

  rollbackTo(mark: number): void {
    for (let i = this.undo.length - 1; i >= mark; i--) {
      const [key, before] = this.undo[i]!;
      if (before === undefined) this.slots.delete(key);
      else this.slots.set(key, before);
    }
    this.undo.length = mark;
  }

  commit(): void {
    for (const key of this.dirty) {
      const s = this.slots.get(key);
      if (s) {
        s.dirty = false;
        s.stored = s.state !== null;
      }
    }
    this.dirty.clear();
    this.undo = [];
    if (this.slots.size > MAX_CACHED) this.slots.clear();
  }

  rollbackAll(): void {
    this.dirty.clear();
    this.undo = [];
    this.slots.clear();
  }

  private slot(uid: string, conv: string): Slot {
    const key = uid + '\u0000' + conv;
    let s = this.slots.get(key);
    if (!s) {
      const r = this.load.get(uid, conv);
      s = { uid, conv, state: r ? toState(r) : null, dirty: false, stored: r !== undefined };
      // A loaded, unchanged slot needs no undo: rolling back leaves it as the table has it.
      this.slots.set(key, s);
    }
    return s;
  }
}

function toState(r: Row): ConversationState {
  const [isGroup, tail, lastSeq, lastMsgId, readSeq, unread, lastInSeq, lastInMsgId, receiptMsgId] = r;
  return { isGroup, tail, lastSeq, lastMsgId, readSeq, unread, lastInSeq, lastInMsgId, receiptMsgId };
}
