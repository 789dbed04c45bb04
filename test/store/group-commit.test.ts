import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbPath, openDatabase, type Db } from '../../src/store/db.js';
import { GroupCommit, type Batch, type Journal } from '../../src/store/group-commit.js';
import { CgiError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../helpers/index.js';

/** A journal that records what the committer asked of it. */
class LogJournal implements Journal {
  calls: string[] = [];
  private n = 0;
  mark() {
    return this.n;
  }
  rollbackTo(m: number) {
    this.calls.push(`rollbackTo(${m})`);
  }
  commit() {
    this.calls.push('commit');
  }
  rollbackAll() {
    this.calls.push('rollbackAll');
  }
}

let dir: string;
let db: Db;
let journal: LogJournal;
let batches: Batch[];
let lost: number;
let gc: GroupCommit;
beforeEach(() => {
  dir = tempDir();
  db = openDatabase(dir);
  journal = new LogJournal();
  batches = [];
  lost = 0;
  gc = new GroupCommit(db, journal, { committed: (b) => batches.push(b), lost: () => lost++ }, silentLogger);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (name: string) =>
  db.prepare(`INSERT INTO users (uid, username, password_hash, created_at) VALUES (?, ?, 'h', 0)`).run(`u_${name}`, name);
const names = () => db.prepare('SELECT username FROM users ORDER BY username').pluck().all();

describe('group commit', () => {
  it('commits a batch once and settles its promises only after the commit', async () => {
    const seen: unknown[] = [];
    const p = Promise.all(
      ['a', 'b', 'c'].map((n) =>
        gc
          .write(() => insert(n))
          .then(() => {
            // Visible to another connection: committed.
            const other = new Database(dbPath(dir), { readonly: true });
            seen.push(other.prepare('SELECT COUNT(*) FROM users').pluck().get());
            other.close();
          }),
      ),
    );
    expect(gc.queued).toBe(3);
    await p;
    expect(seen).toEqual([3, 3, 3]);
    expect([gc.commits, gc.isolatedRetries, batches.length]).toEqual([1, 0, 1]);
  });

  it('rejects an operation that fails before writing, without a retry', async () => {
    const r = await Promise.allSettled([
      gc.write(() => insert('a')),
      gc.write(() => {
        throw new CgiError('USERNAME_TAKEN', 'taken');
      }),
      gc.write(() => insert('c')),
    ]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(names()).toEqual(['a', 'c']);
    expect([gc.commits, gc.isolatedRetries, lost]).toEqual([1, 0, 0]);
    expect(journal.calls).toEqual(['rollbackTo(0)', 'commit']);
  });

  it('reruns the batch with a savepoint per operation when one fails after writing', async () => {
    const runs: string[] = [];
    const r = await Promise.allSettled([
      gc.write(() => {
        runs.push('a');
        insert('a');
        return 'A';
      }),
      gc.write(() => {
        runs.push('b');
        insert('b');
        throw new Error('failed half way');
      }),
      gc.write(() => {
        runs.push('c');
        insert('c');
        return 'C';
      }),
    ]);
    expect(r).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('failed half way') },
      { status: 'fulfilled', value: 'C' },
    ]);
    // b's half write is gone, a and c are there once.
    expect(names()).toEqual(['a', 'c']);
    expect(runs).toEqual(['a', 'b', 'a', 'b', 'c']);
    expect([gc.commits, gc.isolatedRetries, lost]).toEqual([1, 1, 1]);
    expect(journal.calls).toEqual(['rollbackAll', 'rollbackTo(0)', 'commit']);
  });

  it('refuses writes once closed, after committing the queued ones', async () => {
    const queued = gc.write(() => insert('late'));
    gc.close();
    await queued;
    expect(names()).toEqual(['late']);
    await expect(gc.write(() => insert('x'))).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
