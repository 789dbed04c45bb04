// sync of 100 entries, straight on the store (no HTTP, no thread hop): reads/s.
// Each read is one range scan of the user's inbox plus a primary-key join to messages.
//   node bench/store-sync.mjs [--entries 5000] [--reads 20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStore, rate } from './_store-build.mjs';

const { values: o } = parseArgs({
  options: { entries: { type: 'string', default: '5000' }, reads: { type: 'string', default: '20000' } },
});
const E = Number(o.entries);
const R = Number(o.reads);
const { Store } = await loadStore();
const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-sync-'));
const store = Store.open({ dataDir: dir, synchronous: 'NORMAL', log: { log() {}, debug() {}, info() {}, warn() {}, error() {} } });
const [a, b] = await Promise.all([
  store.createUser({ username: 'alice', passwordHash: 'x' }),
  store.createUser({ username: 'bob', passwordHash: 'x' }),
]);
await Promise.all(
  Array.from({ length: E }, (_, i) =>
    store.sendMessage({ from: a.uid, to: b.uid, type: 'text', content: `message number ${i} with some text in it`, clientMsgId: `c${i}` }),
  ),
);
let n = 0;
const t0 = performance.now();
for (let i = 0; i < R; i++) {
  const r = await store.sync({ uid: b.uid, syncKey: (i * 97) % (E - 100), limit: 100, timeoutMs: 0 });
  n += r.messages.length;
}
const ms = performance.now() - t0;
if (n !== R * 100) throw new Error(`expected ${R * 100} entries, read ${n}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(`store sync of 100 entries: ${rate(R, ms)} reads/s (${rate(n, ms)} entries/s)`);
