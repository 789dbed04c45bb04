// 1:1 sendMessage through the store thread as CGI workers reach it: calls on
// MessagePorts (one per simulated worker), answered by the store thread with
// group commit. Compare with bench/store-send.mjs (the Store in-process).
//   node bench/store-thread-send.mjs [--messages 100000] [--ports 2] [--concurrency 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStoreHost, rate } from './_store-build.mjs';

const { values: o } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    ports: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1000' },
    users: { type: 'string', default: '1000' },
    sync: { type: 'string', default: 'FULL' },
  },
});
const N = Number(o.messages);
const P = Number(o.ports);
const C = Number(o.concurrency);
const U = Number(o.users);

/** Like a CGI worker's store client: calls made in one turn cross as one array, answers come back as arrays. */
function client(port) {
  let id = 0;
  const pending = new Map();
  let queued = [];
  port.on('message', (batch) => {
    for (const r of batch) {
      const p = pending.get(r.id);
      pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(Object.assign(new Error(r.error.message), r.error));
    }
  });
  return (op, args) =>
    new Promise((resolve, reject) => {
      const m = { t: 'call', id: ++id, op, args, requestId: `r${id}` };
      pending.set(m.id, { resolve, reject });
      if (queued.length === 0)
        setImmediate(() => {
          const b = queued;
          queued = [];
          port.postMessage(b);
        });
      queued.push(m);
    });
}

const { StoreHost, threadFile } = await loadStoreHost();
const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-thread-'));
const host = await StoreHost.start({ threadFile, dataDir: dir, synchronous: o.sync, log: { log() {} } });
const calls = Array.from({ length: P }, () => client(host.connect()));
const uids = [];
for (let i = 0; i < U; i++) uids.push((await calls[0]('createUser', { username: `user_${i}`, passwordHash: 'x' })).uid);

const c0 = (await host.stats()).commits;
let next = 0;
const t0 = performance.now();
async function lane(call) {
  while (next < N) {
    const i = next++;
    await call('sendMessage', {
      from: uids[i % U],
      to: uids[(i * 13 + 1) % U],
      type: 'text',
      content: 'hello there',
      clientMsgId: `c${i}`,
    });
  }
}
await Promise.all(calls.flatMap((call) => Array.from({ length: C }, () => lane(call))));
const ms = performance.now() - t0;
const commits = (await host.stats()).commits - c0;
await host.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  `store thread sendMessage (${P} ports x ${C} in flight, synchronous=${o.sync}): ${rate(N, ms)} msg/s, ${commits} commits (${(N / commits).toFixed(0)} msgs/commit)`,
);
