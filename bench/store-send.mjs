// 1:1 sendMessage throughput of the store alone (no HTTP, no thread hop), with
// many calls queued at once so group commit can batch them, next to raw
// better-sqlite3 doing one transaction per message in the same run.
//   node bench/store-send.mjs [--messages 100000] [--concurrency 2000] [--sync FULL|NORMAL]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStore, rate } from './_store-build.mjs';
import { rawSends, rawUids } from './lib/raw-sqlite.mjs';

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

const rawUsers = rawUids(U);
const raw = (sync, n) => Math.round(rawSends({ sync, messages: n, pair: (i) => [rawUsers[i % U], rawUsers[(i * 13 + 1) % U]] }));

const { Store } = await loadStore();
const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-store-'));
const store = Store.open({ dataDir: dir, synchronous: o.sync, log: { log() {}, debug() {}, info() {}, warn() {}, error() {} } });
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
console.log(
  `store sendMessage (synchronous=${o.sync}, ${C} in flight): ${storeRate} msg/s, ${commits} commits (${(N / commits).toFixed(0)} msgs/commit)`,
);
if (o['skip-raw']) process.exit(0);
const rawFull = raw('FULL', 5000);
const rawNormal = raw('NORMAL', 20000);
console.log(`raw better-sqlite3, one txn per message: FULL ${rawFull} msg/s, NORMAL ${rawNormal} msg/s`);
console.log(`ratio store/raw FULL: ${(storeRate / rawFull).toFixed(1)}x, store/raw NORMAL: ${(storeRate / rawNormal).toFixed(1)}x`);
