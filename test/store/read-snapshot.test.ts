/**
 * A CGI worker's reads of one event-loop turn share one SQLite read
 * transaction (src/worker/sqlite-reads.ts), yet a read still sees every write
 * answered before it: the store thread bumps a shared commit counter before
 * answering, and a read that finds it moved starts a new snapshot. Here the
 * writes are a real Store's on the same file; the reader is the worker's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { sharedCounter } from '../../src/ports/shared-counter.js';
import { dbPath } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { openSqliteReads, type SqliteReads } from '../../src/worker/sqlite-reads.js';

const SPACE = 'snap';
const KEY = new Uint8Array([2, 0x6b, 0]);

let dir: string;
let store: Store;
let commits: Int32Array;
let reads: SqliteReads;
/** A second writer connection, to commit without the store (and without its counter). */
let raw: Database.Database;

const value = () => reads.kv.get(SPACE, { keys: [KEY] }, Date.now())[0]?.value ?? null;
const turn = () => new Promise((r) => setImmediate(r));
const rawSet = (v: string) =>
  raw
    .prepare(
      'INSERT INTO kv (space, key, value, version, expires_at) VALUES (?, ?, ?, 1, NULL) ON CONFLICT DO UPDATE SET value = excluded.value',
    )
    .run(SPACE, KEY, v);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cgihost-read-snapshot-'));
  commits = sharedCounter();
  store = Store.open({ dataDir: dir, synchronous: 'NORMAL', log: silentLogger, commits });
  raw = new Database(dbPath(dir));
  raw.pragma('busy_timeout = 5000');
  reads = openSqliteReads(dbPath(dir), { commits });
});

afterAll(async () => {
  raw?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('bumps the commit counter for every committed batch, before its writes are answered', async () => {
  const before = Atomics.load(commits, 0);
  let seenAtAnswer = -1;
  await store.createUser({ username: 'snap_user', passwordHash: 'x' }).then(() => (seenAtAnswer = Atomics.load(commits, 0)));
  expect(seenAtAnswer).toBeGreaterThan(before);
});

it('shares one snapshot within a turn, and sees a commit once the counter says so', async () => {
  rawSet('"one"');
  await turn();
  expect(value()).toBe('"one"');
  // Committed by another connection in the same turn, the counter not told: the turn's snapshot does not see it...
  rawSet('"two"');
  expect(value()).toBe('"one"');
  // ...and once the commit is counted (as the store thread does before answering), the next read does.
  Atomics.add(commits, 0, 1);
  expect(value()).toBe('"two"');
  // A new turn starts a new snapshot anyway.
  rawSet('"three"');
  await turn();
  expect(value()).toBe('"three"');
});

it("reads the store's own kv writes as soon as they are answered", async () => {
  for (let i = 0; i < 20; i++) {
    const v = JSON.stringify(`store ${i}`);
    const write = store.platform.kvCommit(
      { checks: [], mutations: [{ t: 'set', key: KEY, value: v }], enqueues: [] },
      { group: SPACE, unit: 't' },
    );
    // A snapshot is opened before the write commits...
    expect(value()).not.toBe(v);
    expect((await write).ok).toBe(true);
    // ...and the read right after its answer sees it.
    expect(value()).toBe(v);
  }
});

it('does not hold the WAL back: the read transaction ends with the turn', async () => {
  value();
  await turn();
  // With no reader holding an old snapshot, a full checkpoint can reset the WAL.
  const [r] = raw.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
  expect(r!.busy).toBe(0);
});
