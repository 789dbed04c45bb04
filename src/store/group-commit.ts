/**
 * Group commit: write operations queue up and run together in one transaction,
 * so that durability costs one fsync per batch instead of one per operation.
 *
 * The store thread is the only writer and better-sqlite3 is synchronous: while
 * a COMMIT waits for its fsync, the requests that arrive stay in the thread's
 * message queue and form the next batch, flushed on the next setImmediate.
 * Each operation runs in its own SAVEPOINT, so one operation's failure undoes
 * only its own writes and rejects only its own promise. Promises settle only
 * after the COMMIT has returned: a resolved write is a durable write.
 */
import type { Db } from './db.js';
import { StoreError } from './api.js';
import type { StoreLogger } from './options.js';

/** What a batch's committed operations did, for after-commit work (wake-ups, queue consumers, stats). */
export class Batch {
  /** Users who got inbox entries and have a held sync. */
  readonly wake = new Set<string>();
  /** Queue topics that got new jobs. */
  readonly topics = new Set<string>();
  entries = 0;
  readonly sent = new Map<string, number>();

  absorb(tx: Tx): void {
    this.entries += tx.entries;
    if (tx.sent) for (const [k, n] of tx.sent) this.sent.set(k, (this.sent.get(k) ?? 0) + n);
  }
}

/** The context of one operation inside a batch. Counters count only if the operation commits. */
export class Tx {
  entries = 0;
  sent: Map<string, number> | null = null;
  readonly now = Date.now();
  constructor(private readonly batch: Batch) {}

  /** Wake-ups and job topics are hints: a spurious one (after a rollback) costs a look, nothing more. */
  wake(uid: string): void {
    this.batch.wake.add(uid);
  }
  jobAdded(topic: string): void {
    this.batch.topics.add(topic);
  }
  countSent(type: string): void {
    this.sent ??= new Map();
    this.sent.set(type, (this.sent.get(type) ?? 0) + 1);
  }
}

/** In-memory state written alongside the database (the inbox seq cache) that must roll back with it. */
export interface Journal {
  mark(): number;
  rollbackTo(mark: number): void;
  /** The transaction committed: forget the undo log. */
  commit(): void;
  /** The whole transaction is gone. */
  rollbackAll(): void;
}

export interface CommitHooks {
  committed(batch: Batch): void;
  /** A whole transaction was lost (COMMIT or ROLLBACK TO failed): drop read caches. */
  lost(): void;
}

interface Pending {
  run(tx: Tx): unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class GroupCommit {
  commits = 0;
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private readonly begin;
  private readonly commit;
  private readonly rollback;
  private readonly savepoint;
  private readonly release;
  private readonly rollbackTo;

  constructor(
    private readonly db: Db,
    private readonly journal: Journal,
    private readonly hooks: CommitHooks,
    private readonly log: StoreLogger,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT op');
    this.release = db.prepare('RELEASE op');
    this.rollbackTo = db.prepare('ROLLBACK TO op');
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a write; it resolves with `run`'s value once the batch holding it has committed. */
  write<T>(run: (tx: Tx) => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError('INTERNAL', 'the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Runs `run` in a savepoint of the open transaction: on a throw, its writes are undone and the error rethrown. */
  isolated<T>(tx: Tx, run: (tx: Tx) => T): T {
    const mark = this.journal.mark();
    this.savepoint.run();
    let value: T;
    try {
      value = run(tx);
    } catch (err) {
      // If SQLite already rolled the whole transaction back (disk full, I/O error),
      // ROLLBACK TO throws too and the caller loses the batch: that is the right outcome.
      this.rollbackTo.run();
      this.release.run();
      this.journal.rollbackTo(mark);
      throw err;
    }
    this.release.run();
    return value;
  }

  /** Commits every queued write in one transaction. */
  readonly flush = (): void => {
    this.scheduled = false;
    const ops = this.queue;
    if (ops.length === 0) return;
    this.queue = [];
    const batch = new Batch();
    const values: unknown[] = new Array(ops.length);
    const errors: unknown[] = new Array(ops.length);
    const failed: boolean[] = new Array(ops.length).fill(false);
    const ok = this.transaction(batch, () => {
      for (let i = 0; i < ops.length; i++) {
        const tx = new Tx(batch);
        try {
          values[i] = this.isolated(tx, ops[i]!.run);
          batch.absorb(tx);
        } catch (err) {
          if (!this.db.inTransaction) throw err;
          failed[i] = true;
          errors[i] = err;
        }
      }
    });
    if (!ok) {
      for (const op of ops) op.reject(new StoreError('INTERNAL', 'the write could not be committed'));
      return;
    }
    for (let i = 0; i < ops.length; i++) {
      if (failed[i]) ops[i]!.reject(errors[i]);
      else ops[i]!.resolve(values[i]);
    }
    this.hooks.committed(batch);
  };

  /**
   * Runs background work (a queue consumer) in a transaction of its own and, if
   * it commits, the after-commit hooks. Returns false when the transaction was lost.
   */
  background(run: (batch: Batch) => void): boolean {
    const batch = new Batch();
    if (!this.transaction(batch, () => run(batch))) return false;
    this.hooks.committed(batch);
    return true;
  }

  /** Stops taking writes; the queued ones are committed now. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private transaction(batch: Batch, body: () => void): boolean {
    try {
      this.begin.run();
      body();
      this.commit.run();
    } catch (err) {
      try {
        if (this.db.inTransaction) this.rollback.run();
      } catch (rollbackErr) {
        this.log('error', 'rollback failed', { error: String(rollbackErr) });
      }
      this.journal.rollbackAll();
      this.hooks.lost();
      this.log('error', 'store transaction lost', { error: String(err), entries: batch.entries });
      return false;
    }
    this.journal.commit();
    this.commits++;
    return true;
  }
}
