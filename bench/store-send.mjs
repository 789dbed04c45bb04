// 1:1 sendMessage throughput of the store alone (no HTTP, no thread hop), with
// many calls queued at once so group commit can batch them, next to raw
// better-sqlite3 doing one transaction per message in the same run.
//   node bench/store-send.mjs [--messages 100000] [--concurrency 2000] [--sync FULL|NORMAL]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStore, rate } from './_store-build.mjs';

const { values: o } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '2000' },
    users: { type: 'string', default: '1000' },
    sync: { type: 'string', default: 'FULL' },
    'skip-raw': { type: 'boolean', default: false },
  },
});
const N = Number(o.messages);
const C = Number(o.concurrency);
const U = Number(o.users);

function raw(sync, n) {
  const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-raw-'));
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, from_uid TEXT, to_uid TEXT, content TEXT, created_at INTEGER);
           CREATE TABLE inbox (uid TEXT, seq INTEGER, msg_id INTEGER, PRIMARY KEY (uid, seq)) WITHOUT ROWID;`);
  const im = db.prepare('INSERT INTO messages (from_uid, to_uid, content, created_at) VALUES (?, ?, ?, ?)');
  const ii = db.prepare('INSERT INTO inbox VALUES (?, ?, ?)');
  const seq = new Map();
  const users = Array.from({ length: U }, (_, i) => 'u' + (i * 7919).toString(16).padStart(16, '0'));
  const send = db.transaction((a, b) => {
    const id = im.run(a, b, 'hello there', Date.now()).lastInsertRowid;
    for (const u of [a, b]) {
      const s = (seq.get(u) ?? 0) + 1;
      seq.set(u, s);
      ii.run(u, s, id);
    }
  });
  const t = performance.now();
  for (let i = 0; i < n; i++) send(users[i % U], users[(i * 13 + 1) % U]);
  const ms = performance.now() - t;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return rate(n, ms);
}

const { Store } = await loadStore();
const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-store-'));
const store = Store.open({ dataDir: dir, synchronous: o.sync, log: () => {} });
const uids = [];
for (let i = 0; i < U; i++) uids.push((await store.createUser({ username: `user_${i}`, passwordHash: 'x' })).uid);

const c0 = store.stats().commits;
let next = 0;
const t0 = performance.now();
async function lane() {
  while (next < N) {
    const i = next++;
    await store.sendMessage({ from: uids[i % U], to: uids[(i * 13 + 1) % U], type: 'text', content: 'hello there', clientMsgId: `c${i}` });
  }
}
await Promise.all(Array.from({ length: C }, lane));
const ms = performance.now() - t0;
const commits = store.stats().commits - c0;
await store.close();
rmSync(dir, { recursive: true, force: true });

const storeRate = rate(N, ms);
console.log(`store sendMessage (synchronous=${o.sync}, ${C} in flight): ${storeRate} msg/s, ${commits} commits (${(N / commits).toFixed(0)} msgs/commit)`);
if (o['skip-raw']) process.exit(0);
const rawFull = raw('FULL', 5000);
const rawNormal = raw('NORMAL', 20000);
console.log(`raw better-sqlite3, one txn per message: FULL ${rawFull} msg/s, NORMAL ${rawNormal} msg/s`);
console.log(`ratio store/raw FULL: ${(storeRate / rawFull).toFixed(1)}x, store/raw NORMAL: ${(storeRate / rawNormal).toFixed(1)}x`);
