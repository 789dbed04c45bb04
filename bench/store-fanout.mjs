// Fan-out into a 500-member group: inbox entries written per second by the
// store's queue consumer, and the lag from a send's acknowledgement to the last
// member's entry (one message at a time on an idle store), next to raw
// better-sqlite3 inserting 500 index rows per transaction in the same run.
//   node bench/store-fanout.mjs [--members 500] [--messages 400] [--sync FULL|NORMAL]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStore, rate } from './_store-build.mjs';
import { rawFanout } from './lib/raw-sqlite.mjs';

const { values: o } = parseArgs({
  options: {
    members: { type: 'string', default: '500' },
    messages: { type: 'string', default: '400' },
    lag: { type: 'string', default: '50' },
    sync: { type: 'string', default: 'FULL' },
  },
});
const M = Number(o.members);
const N = Number(o.messages);

const { Store } = await loadStore();
const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-fanout-'));
const store = Store.open({ dataDir: dir, synchronous: o.sync, log: { log() {}, debug() {}, info() {}, warn() {}, error() {} } });
const uids = [];
for (let i = 0; i < M; i++) uids.push((await store.createUser({ username: `member_${i}`, passwordHash: 'x' })).uid);
const { groupId } = await store.createGroup({ owner: uids[0], name: 'bench', members: uids });
await store.whenIdle();

// Throughput: N messages sent at once, until the last member's entry is written.
const e0 = store.stats().inboxEntriesWritten;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: N }, (_, i) =>
    store.sendMessage({ from: uids[i % M], groupId, type: 'text', content: `m${i}`, clientMsgId: `t${i}` }),
  ),
);
const acked = performance.now() - t0;
const fanoutEntries = N * (M - 1);
while (store.stats().inboxEntriesWritten - e0 < N + fanoutEntries) await new Promise((r) => setImmediate(r));
const ms = performance.now() - t0;

// Lag on an idle store: from the sender's acknowledgement to the last member's entry.
const last = uids[M - 1];
const lags = [];
for (let i = 0; i < Number(o.lag); i++) {
  const before = store.stats().inboxEntriesWritten;
  await store.sendMessage({ from: uids[0], groupId, type: 'text', content: `lag${i}`, clientMsgId: `l${i}` });
  const ack = performance.now();
  while (store.stats().inboxEntriesWritten - before < M) await new Promise((r) => setImmediate(r));
  lags.push(performance.now() - ack);
  // The last member really has it.
  if (i === 0) {
    const r = await store.sync({ uid: last, syncKey: N + 1, limit: 1, timeoutMs: 0 });
    if (r.messages[0]?.content !== 'lag0') throw new Error('the last member is missing the message');
  }
}
lags.sort((a, b) => a - b);
const pct = (p) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))].toFixed(1);
await store.close();
rmSync(dir, { recursive: true, force: true });

const storeRate = rate(fanoutEntries, ms);
const rawRate = Math.round(rawFanout({ sync: o.sync, members: M, messages: N }));
console.log(
  `store fan-out (${M} members, ${N} messages, synchronous=${o.sync}): ${storeRate} entries/s (all ${N} sends acked in ${acked.toFixed(0)} ms)`,
);
console.log(`lag from ack to last member's entry, idle store: p50 ${pct(50)} ms, p99 ${pct(99)} ms`);
console.log(`raw better-sqlite3, ${M} rows per transaction: ${rawRate} rows/s; store/raw ${(storeRate / rawRate).toFixed(2)}x`);
