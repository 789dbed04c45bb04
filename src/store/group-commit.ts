/**
 * Group commit: write operations queue up and run together in one transaction,
 * so that durability costs one fsync per batch instead of one per operation.
 *
 * The store thread is the only writer and better-sqlite3 is synchronous: while
 * a COMMIT waits for its fsync, the requests that arrive stay in the thread's
 * message queue and form the next batch, flushed on the next setImmediate.
 * Each operation is isolated: one operation's failure undoes only its own
 * writes and rejects only its own promise. Promises settle only after the
 * COMMIT has returned: a resolved write is a durable write.
 *
 * Isolation is optimistic. Operations fail in their checks, before they write
 * (USERNAME_TAKEN, NO_SUCH_USER...), so a batch first runs without savepoints
 * (a SAVEPOINT per operation costs about 30% of the throughput: SQLite copies
 * every page an operation touches into the statement journal). An operation
 * that throws after it wrote something (total_changes() moved) would leave
 * half its writes behind: then the whole transaction is rolled back and run
 * again with a SAVEPOINT around each operation.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { CgiError } from '../errors.js';
import type { Logger } from '../log.js';
import { isStorageFailure, storeUnavailable, WriteHealth } from './disk-full.js';

/** What a batch's committed operations did, for after-commit work (wake-ups, queue consumers, stats). */
export class Batch {
  /** Users who got inbox entries and have a held sync. */
  readonly wake = new Set<string>();
  /** Queue topics that got new jobs. */
  readonly topics = new Set<string>();
  entries = 0;
  readonly sent = new Map<string, number>();
  /** Job retries scheduled, per topic. */
  readonly retries = new Map<string, number>();
  /** Writes made once per transaction, just before it commits (counters that must not go back), by name. */
  readonly beforeCommit = new Map<string, () => void>();

  absorb(tx: Tx): void {
    this.entries += tx.entries;
    if (tx.sent) addAll(this.sent, tx.sent);
    if (tx.retries) addAll(this.retries, tx.retries);
  }
}

function addAll(to: Map<string, number>, from: Map<string, number>): void {
  for (const [k, n] of from) to.set(k, (to.get(k) ?? 0) + n);
}

/** The context of one operation inside a batch. Counters count only if the operation commits. */
export class Tx {
  entries = 0;
  sent: Map<string, number> | null = null;
  retries: Map<string, number> | null = null;
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
  /** Runs `write` once, just before the transaction commits (the last one given under `name` wins). */
  beforeCommit(name: string, write: () => void): void {
    this.batch.beforeCommit.set(name, write);
  }
  countRetry(topic: string): void {
    this.retries ??= new Map();
    this.retries.set(topic, (this.retries.get(topic) ?? 0) + 1);
  }
}

/** In-memory state written alongside the database (the inbox seq cache) that must roll back with it. */
export interface Journal {
  mark(): number;
  rollbackTo(mark: number): void;
  /** Last writes of the transaction, after every operation and before COMMIT (a failure loses the transaction). */
  beforeCommit?(): void;
  /** The transaction committed: forget the undo log. */
  commit(): void;
  /** The whole transaction is gone. */
  rollbackAll(): void;
}

/** Several journals as one. */
export class Journals implements Journal {
  private marks: number[][] = [];
  constructor(private readonly parts: readonly Journal[]) {}

  mark(): number {
    this.marks.push(this.parts.map((p) => p.mark()));
    return this.marks.length - 1;
  }
  rollbackTo(mark: number): void {
    const at = this.marks[mark]!;
    this.parts.forEach((p, i) => p.rollbackTo(at[i]!));
    this.marks.length = mark;
  }
  beforeCommit(): void {
    for (const p of this.parts) p.beforeCommit?.();
  }
  commit(): void {
    this.marks = [];
    for (const p of this.parts) p.commit();
  }
  rollbackAll(): void {
    this.marks = [];
    for (const p of this.parts) p.rollbackAll();
  }
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

/** Thrown inside a transaction to have it run again with a savepoint per item. */
const NEEDS_ISOLATION = Symbol('needs isolation');

export class GroupCommit {
  commits = 0;
  /** Transactions that had to run again with savepoints (an item failed after writing). */
  isolatedRetries = 0;
  /** Whether the disk takes writes (see disk-full.ts). */
  readonly health: WriteHealth;
  /** Why the last transaction was lost, to answer its writes with. */
  private lastLoss: unknown = null;
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private readonly begin;
  private readonly commit;
  private readonly rollback;
  private readonly savepoint;
  private readonly release;
  private readonly rollbackTo;
  private readonly totalChanges;

  constructor(
    private readonly db: Db,
    private readonly journal: Journal,
    private readonly hooks: CommitHooks,
    private readonly log: Logger,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT item');
    this.release = db.prepare('RELEASE item');
    this.rollbackTo = db.prepare('ROLLBACK TO item');
    this.totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
    this.health = new WriteHealth(log);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a write; it resolves with `run`'s value once the batch holding it has committed. */
  write<T>(run: (tx: Tx) => T): Promise<T> {
    if (this.closed) return Promise.reject(new CgiError('INTERNAL', 'the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Commits every queued write in one transaction. */
  readonly flush = (): void => {
    this.scheduled = false;
    const ops = this.queue;
    if (ops.length === 0) return;
    this.queue = [];
    const values: unknown[] = new Array(ops.length);
    const errors: unknown[] = new Array(ops.length);
    const batch = this.transaction((items) => {
      for (let i = 0; i < ops.length; i++) {
        items.run(
          (tx) => {
            values[i] = ops[i]!.run(tx);
            errors[i] = undefined;
          },
          (err) => (errors[i] = err ?? new Error('undefined thrown')),
        );
      }
    });
    if (!batch) {
      const full = isStorageFailure(this.lastLoss);
      for (const op of ops)
        op.reject(full ? storeUnavailable(this.lastLoss) : new CgiError('INTERNAL', 'the write could not be committed'));
      return;
    }
    for (let i = 0; i < ops.length; i++) {
      if (errors[i] !== undefined) ops[i]!.reject(errors[i]);
      else ops[i]!.resolve(values[i]);
    }
    this.hooks.committed(batch);
  };

  /**
   * Runs background work (a queue consumer) in a transaction of its own and, if
   * it commits, the after-commit hooks. `body` may run twice (see the top of
   * this file), so it must start from scratch each time. Returns false when the
   * transaction was lost.
   */
  background(body: (items: ItemRunner) => void): boolean {
    const batch = this.transaction(body);
    if (!batch) return false;
    this.hooks.committed(batch);
    return true;
  }

  /** Stops taking writes; the queued ones are committed now. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private transaction(body: (items: ItemRunner) => void): Batch | null {
    for (const isolate of [false, true]) {
      const batch = new Batch();
      try {
        this.begin.run();
        body(new ItemRunner(this.db, batch, this.journal, isolate, this.stmts));
        for (const write of batch.beforeCommit.values()) write();
        this.journal.beforeCommit?.();
        this.commit.run();
      } catch (err) {
        try {
          if (this.db.inTransaction) this.rollback.run();
        } catch (rollbackErr) {
          this.log.error('rollback failed', { error: String(rollbackErr) });
        }
        this.journal.rollbackAll();
        this.hooks.lost();
        if (err === NEEDS_ISOLATION && !isolate) {
          this.isolatedRetries++;
          continue;
        }
        this.lastLoss = err;
        if (isStorageFailure(err)) this.health.failed(err, 'commit');
        else this.log.error('store transaction lost', { error: String(err), entries: batch.entries });
        return null;
      }
      this.health.succeeded();
      this.journal.commit();
      this.commits++;
      return batch;
    }
    return null;
  }

  private get stmts(): ItemStatements {
    return { savepoint: this.savepoint, release: this.release, rollbackTo: this.rollbackTo, totalChanges: this.totalChanges };
  }
}

interface ItemStatements {
  savepoint: Statement;
  release: Statement;
  rollbackTo: Statement;
  totalChanges: Statement<[], number>;
}

/** Runs the items (operations, jobs) of one transaction, each isolated from the others' failures. */
export class ItemRunner {
  constructor(
    private readonly db: Db,
    readonly batch: Batch,
    private readonly journal: Journal,
    private readonly isolate: boolean,
    private readonly s: ItemStatements,
  ) {}

  /**
   * Runs one item. If it throws, its writes are undone and `fail` gets the error
   * (`fail` may write: it runs outside the item). Returns whether it succeeded.
   */
  run(item: (tx: Tx) => void, fail: (err: unknown) => void): boolean {
    const tx = new Tx(this.batch);
    const mark = this.journal.mark();
    if (this.isolate) this.s.savepoint.run();
    const before = this.isolate ? 0 : this.s.totalChanges.get()!;
    try {
      item(tx);
    } catch (err) {
      // Disk full, I/O error: SQLite rolled the whole transaction back; it is lost.
      if (!this.db.inTransaction) throw err;
      if (this.isolate) {
        this.s.rollbackTo.run();
        this.s.release.run();
      } else if (this.s.totalChanges.get() !== before) {
        throw NEEDS_ISOLATION;
      }
      this.journal.rollbackTo(mark);
      // The statement alone was undone (the transaction lives on): still the disk's fault, not the caller's.
      fail(isStorageFailure(err) ? storeUnavailable(err) : err);
      return false;
    }
    if (this.isolate) this.s.release.run();
    this.batch.absorb(tx);
    return true;
  }
}
