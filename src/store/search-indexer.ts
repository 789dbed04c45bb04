/**
 * Indexes text messages for search after they are stored, in batches, off the
 * request path: FTS5 costs about 35 µs a message in a send's small transaction
 * and about 20 µs in a batch of hundreds (it writes a segment per
 * transaction), and a send answers without waiting for it.
 *
 * The indexer looks at messages in id order after `search_cursor`, indexes
 * the texts not recalled, and moves the cursor in the same transaction (a
 * crash repeats nothing and skips nothing). It runs DELAY_MS after the first
 * commit that stored a text, so that a busy server indexes hundreds at once;
 * a search first catches up with what is pending (when that is little), so a
 * user finds the message they just sent.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { GroupCommit } from './group-commit.js';
import type { Logger } from '../log.js';
import { shortGrams } from './search-grams.js';

/** Wait after a text is stored before indexing, so that batches grow under load. */
const DELAY_MS = 50;
/** Messages looked at per transaction, and its time budget (request writes wait behind it). */
const BATCH = 1_000;
const BUDGET_MS = 25;
/** A search catches up first when at most this many messages wait; past it, it searches what is indexed. */
export const CATCH_UP_MAX = 2_000;
const LOST_RETRY_MS = 1_000;

export class SearchIndexer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The cursor as committed. */
  private cursor: number;
  private readonly readCursor: Statement<[], number>;
  private readonly setCursor: Statement<[number]>;
  private readonly newest: Statement<[], number | null>;
  private readonly texts: Statement<[number, number], { id: number; type: string; content: string | null; recalled: number }>;
  private readonly addTrigram: Statement<[number, string]>;
  private readonly addShort: Statement<[number, string]>;
  private readonly dropTrigram: Statement<[number]>;
  private readonly dropShort: Statement<[number]>;

  constructor(
    db: Db,
    private readonly commit: GroupCommit,
    private readonly log: Logger,
  ) {
    this.readCursor = db.prepare<[], number>('SELECT msg_id FROM search_cursor').pluck();
    this.setCursor = db.prepare('UPDATE search_cursor SET msg_id = ?');
    this.newest = db.prepare<[], number | null>('SELECT MAX(id) FROM messages').pluck();
    this.texts = db.prepare(`SELECT id, type, content, recalled_at IS NOT NULL AS recalled FROM messages WHERE id > ? ORDER BY id LIMIT ?`);
    this.addTrigram = db.prepare('INSERT INTO msg_trigram (rowid, content) VALUES (?, ?)');
    this.addShort = db.prepare('INSERT INTO msg_short (rowid, grams) VALUES (?, ?)');
    this.dropTrigram = db.prepare('DELETE FROM msg_trigram WHERE rowid = ?');
    this.dropShort = db.prepare('DELETE FROM msg_short WHERE rowid = ?');
    this.cursor = this.readCursor.get()!;
  }

  /** On open: index what an earlier run (or an upgrade) left. */
  start(): void {
    this.wake();
  }

  /** A text was committed: index it soon. */
  wake(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, DELAY_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Messages stored but not yet looked at. */
  get pending(): number {
    return Math.max(0, (this.newest.get() ?? 0) - this.cursor);
  }

  /** Before a search: index what waits, when that is quick. Runs outside any transaction. */
  catchUp(): void {
    const n = this.pending;
    if (n === 0 || n > CATCH_UP_MAX) return;
    while (this.pending > 0 && this.batch(Number.POSITIVE_INFINITY)) {
      // Each batch is its own transaction.
    }
  }

  /** A message was recalled (in the caller's transaction): out of the index, if it is in. */
  remove(msgRowId: number): void {
    if (msgRowId > this.cursor) return; // not indexed yet; the indexer skips recalled messages
    this.dropTrigram.run(msgRowId);
    this.dropShort.run(msgRowId);
  }

  private run(): void {
    // Nothing waits (a fresh or fully indexed store at open): no transaction, so an idle store commits nothing.
    if (this.stopped || this.pending === 0) return;
    if (!this.batch(BUDGET_MS)) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.run();
      }, LOST_RETRY_MS);
      return;
    }
    // More waiting: go on soon, letting request writes in between.
    if (this.pending > 0) setImmediate(() => this.run());
  }

  /** One transaction: messages after the cursor, up to BATCH or `budgetMs`. False when it failed or was lost. */
  private batch(budgetMs: number): boolean {
    let next = this.cursor;
    let done = false;
    const ok = this.commit.background((items) => {
      next = this.cursor;
      done = false;
      const deadline = performance.now() + budgetMs;
      done = items.run(
        () => {
          for (const m of this.texts.all(this.cursor, BATCH)) {
            next = m.id;
            if (m.type === 'text' && m.content !== null && !m.recalled) {
              this.addTrigram.run(m.id, m.content);
              this.addShort.run(m.id, shortGrams(m.content));
            }
            if (performance.now() > deadline) break;
          }
          this.setCursor.run(next);
        },
        (err) => this.log.error('search indexing failed', { error: String(err) }),
      );
    });
    if (ok && done) this.cursor = next;
    return ok && done;
  }
}
