/**
 * ConversationRows under group commit: conversation rows change in memory
 * during a transaction and are written once before COMMIT; an operation that
 * fails takes its changes out of memory with its savepoint, so the table and
 * the cache agree with what committed.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { tempDir } from '../helpers/index.js';
import { dbPath, openDatabase, type Db } from '../../src/store/db.js';
import { GroupCommit, Journals } from '../../src/store/group-commit.js';
import { silentLogger } from '../../src/log.js';
import { ConversationRows, type ConversationState } from '../../src/store/conversation-rows.js';

let dir: string;
let db: Db;
let rows: ConversationRows;
let gc: GroupCommit;
beforeEach(() => {
  dir = tempDir();
  db = openDatabase(dir);
  rows = new ConversationRows(db);
  gc = new GroupCommit(db, new Journals([rows]), { committed: () => {}, lost: () => {} }, silentLogger);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const state = (tail: number, unread: number): ConversationState => ({
  isGroup: 0,
  tail,
  lastSeq: tail,
  lastMsgId: tail,
  readSeq: 0,
  unread,
  lastInSeq: tail,
  lastInMsgId: tail,
  receiptMsgId: null,
});
const table = () => {
  const other = new Database(dbPath(dir), { readonly: true });
  try {
    return other.prepare('SELECT uid, conv, tail_seq, unread FROM conversations ORDER BY uid, conv').raw().all();
  } finally {
    other.close();
  }
};

it('writes each changed row once, at commit, with its last value', async () => {
  await Promise.all([1, 2, 3].map((n) => gc.write(() => rows.set('u1', 'c1', state(n, n)))));
  expect(table()).toEqual([['u1', 'c1', 3, 3]]);
  await gc.write(() => rows.set('u1', 'c1', { ...rows.get('u1', 'c1')!, tail: 4 }));
  expect(table()).toEqual([['u1', 'c1', 4, 3]]);
});

it("leaves out a failed operation's changes, in memory and in the table, and keeps the others'", async () => {
  await gc.write(() => rows.set('u1', 'c1', state(1, 1)));
  const insertUser = db.prepare(`INSERT INTO users (uid, username, password_hash, created_at) VALUES ('ux', 'ux_name', 'h', 0)`);
  const results = await Promise.allSettled([
    gc.write(() => rows.set('u1', 'c1', state(2, 2))),
    gc.write(() => {
      rows.set('u1', 'c1', state(9, 9));
      rows.set('u2', 'c9', state(9, 9));
      insertUser.run(); // a write, then a failure: the batch runs again with a savepoint per operation
      throw new Error('boom');
    }),
    gc.write(() => rows.set('u3', 'c3', { ...state(5, 1) })),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(gc.isolatedRetries).toBe(1);
  expect(table()).toEqual([
    ['u1', 'c1', 2, 2],
    ['u3', 'c3', 5, 1],
  ]);
  expect(rows.get('u1', 'c1')).toEqual(state(2, 2));
  expect(rows.get('u2', 'c9')).toBeNull();
  expect(db.prepare(`SELECT COUNT(*) FROM users WHERE uid = 'ux'`).pluck().get()).toBe(0);
});

it('forgets everything when a transaction is lost, and reads the table again', async () => {
  await gc.write(() => rows.set('u1', 'c1', state(1, 1)));
  rows.set('u1', 'c1', state(7, 7));
  rows.rollbackAll();
  expect(rows.get('u1', 'c1')).toEqual(state(1, 1));
});
