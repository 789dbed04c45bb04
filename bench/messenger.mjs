// The messenger's reads (issue 15 Speed), over HTTP on the built-in cgis/:
//   getconversations (limit 100) of a user with 1,000 conversations and
//     100,000 inbox entries, beside one with 1,000 conversations and 10,000
//     entries: p99 < 20 ms, and no growth with the inbox;
//   gethistory pages of 50 deep in one 2,000-entry conversation of each of
//     those two users: p99 < 10 ms whatever the inbox size;
//   searchmsgs by the 100,000-entry user over those 100,000 messages, queries
//     of 1, 2 and 3+ characters, common, rare and absent: p99 < 50 ms;
//     and, for the record, the same queries by a user holding 200 messages
//     (the index is per message, so their matches are found among everyone's).
// The inboxes are written straight through the store (in this process) into a
// data dir whose readers registered over HTTP, then the host serves it; the
// bare node:http echo runs in the same alternating rounds for context.
//   node bench/messenger.mjs [--rounds 4] [--duration 3] [--warmup 2] [--connections 1] [--big 100000] [--small 10000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadStore } from './_store-build.mjs';
import { startBaseline, startHost, stopServers, ROOT } from './lib/servers.mjs';
import { runRounds, roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import { fmtMs, fmtNum, fmtRatio, boundedNumber, summariseRounds, ratio, verdict } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson } from './lib/client.mjs';
import { auth, makeUsers, runRotatingLoad } from './lib/users.mjs';

const CGIS_DIR = join(ROOT, 'cgis');
const PEERS = 1_000;
const GROUPS = 10;
const PAL_MESSAGES = 2_000;
const LIGHT_MESSAGES = 200;

const OPTIONS = {
  ...roundOptions(4),
  big: { type: 'string', default: '100000' },
  small: { type: 'string', default: '10000' },
};

const WORDS = (
  'hello world meeting tomorrow lunch coffee project deadline thanks see you later morning evening weekend train ' +
  'station photo birthday party movie dinner office report review budget call maybe sure great sounds good'
).split(' ');
const HAN = '你好 吃饭 今天 明天 天气 很好 谢谢 开会 周末 电影 晚上 早上好 没问题 好的'.split(' ');
const EMOJI = ['🎉', '👍', '😀', '☕', '🚆', '❤️', '👍🏽', '🙂'];
export const QUERIES = [
  'hello',
  'meeting tomorrow',
  'deadline',
  '你好',
  '吃饭',
  '天气很好',
  'e',
  'a',
  '好',
  '🎉',
  '👍🏽',
  'ok',
  'qx',
  'zebra crossing',
  'report',
  '😀',
];

/** mulberry32: the same corpus every run. */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({
    args: argv,
    options: { ...OPTIONS, warmup: { type: 'string', default: '2' }, connections: { type: 'string', default: '1' } },
    strict: false,
  });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  const big = boundedNumber(a.big, 'big', 20_000, 1_000_000);
  const small = boundedNumber(a.small, 'small', 5_000, big);
  console.log('# messenger: getconversations, gethistory and searchmsgs over HTTP, beside bare node:http echo');
  console.log(`${load.tool}, ${load.connections} connection(s), ${rounds} rounds x ${durationS} s per side, warm-up ${warmupS} s`);

  const dataDir = mkdtempSync(join(tmpdir(), 'cgihost-bench-messenger-'));
  const servers = {};
  try {
    // 1. The readers register over HTTP (real password hashes and tokens), then the host stops.
    servers.setup = await startHost({ cgisDir: CGIS_DIR, dataDir });
    const [bigUser, smallUser, lightUser] = await makeUsers(servers.setup.url, { prefix: 'rd', count: 3, concurrency: 3 });
    await stopServers({ setup: servers.setup });
    delete servers.setup;

    // 2. Their inboxes, written through the store in this process.
    const fill = await fillInboxes(dataDir, { bigUser, smallUser, lightUser, big, small });

    // 3. The host serves it; the bare echo beside it.
    servers.bare = await startBaseline();
    servers.host = await startHost({ cgisDir: CGIS_DIR, dataDir });
    const url = servers.host.url;
    const call = async (user, name, body) => {
      const r = await postJson(`${url}/cgi-bin/${name}`, body, { headers: auth(user.token), timeoutMs: 30_000 });
      if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.text.slice(0, 300)}`);
      return r.json;
    };
    for (const [user, entries] of [
      [bigUser, fill.bigEntries],
      [smallUser, fill.smallEntries],
    ]) {
      const list = (await call(user, 'getconversations', { limit: 500 })).conversations;
      const tail = await call(user, 'sync', { syncKey: entries - 1, limit: 10 });
      if (tail.messages.length !== 1 || tail.messages[0].seq !== entries)
        throw new Error(`${user.username}: the inbox does not end at ${entries}`);
      const last = (await call(user, 'gethistory', { peer: fill.pal, limit: 1 })).messages[0];
      console.log(
        `${user.username}: ${fmtNum(entries)} inbox entries, ${list.length} conversations listed of 500 asked; pal conversation up to seq ${last.seq}`,
      );
      if (list.length !== 500) throw new Error(`${user.username}: expected 1,000 conversations`);
    }
    // History pages start at random entries of the pal conversation with at least 50 older ones.
    const palSeqs = async (user) => {
      const seqs = [];
      let beforeSeq;
      for (;;) {
        const r = await call(user, 'gethistory', { peer: fill.pal, limit: 200, ...(beforeSeq ? { beforeSeq } : {}) });
        seqs.push(...r.messages.map((m) => m.seq));
        if (!r.more) return seqs;
        beforeSeq = r.messages.at(-1).seq;
      }
    };
    const rnd = prng(7);
    const historyVariants = async (user) => {
      const seqs = (await palSeqs(user)).slice(0, -50);
      return Array.from({ length: 64 }, () => ({
        headers: auth(user.token),
        bodyTemplate: JSON.stringify({ peer: fill.pal, beforeSeq: seqs[Math.floor(rnd() * seqs.length)], limit: 50 }),
      }));
    };
    const searchVariants = (user) =>
      QUERIES.map((query) => ({ headers: auth(user.token), bodyTemplate: JSON.stringify({ query, limit: 20 }) }));
    for (const q of QUERIES) {
      const n = (await call(bigUser, 'searchmsgs', { query: q, limit: 20 })).messages.length;
      process.stdout.write(`${JSON.stringify(q)}: ${n}  `);
    }
    console.log('(results for the 100,000-entry user)');

    const targets = {
      bare: { path: `${servers.bare.url}/cgi-bin/echo`, variants: [{ headers: {}, bodyTemplate: '{"text":"hello"}' }] },
      'conv@small': {
        path: `${url}/cgi-bin/getconversations`,
        variants: [{ headers: auth(smallUser.token), bodyTemplate: '{"limit":100}' }],
      },
      'conv@big': { path: `${url}/cgi-bin/getconversations`, variants: [{ headers: auth(bigUser.token), bodyTemplate: '{"limit":100}' }] },
      'hist@small': { path: `${url}/cgi-bin/gethistory`, variants: await historyVariants(smallUser) },
      'hist@big': { path: `${url}/cgi-bin/gethistory`, variants: await historyVariants(bigUser) },
      'search@big': { path: `${url}/cgi-bin/searchmsgs`, variants: searchVariants(bigUser) },
      'search@light': { path: `${url}/cgi-bin/searchmsgs`, variants: searchVariants(lightUser) },
    };
    const sides = Object.keys(targets);
    const rows = await runRounds({
      sides,
      rounds,
      durationS,
      warmupS,
      pidOf: (side) => (side === 'bare' ? servers.bare.pid : servers.host.pid),
      load: (side, s) => runRotatingLoad({ url: targets[side].path, variants: targets[side].variants, durationS: s, ...load }),
    });
    const summary = summariseRounds(rows, sides);
    const clean = sides.every((s) => summary[s].non2xx + summary[s].errors === 0);
    const goals = {
      conversations: summary['conv@big'].p99 < 20,
      conversationsFlat: ratio(summary['conv@big'].p99, summary['conv@small'].p99) < 1.5,
      history: summary['hist@big'].p99 < 10 && summary['hist@small'].p99 < 10,
      search: summary['search@big'].p99 < 50,
    };
    console.log(
      `\ngetconversations p99: ${fmtMs(summary['conv@big'].p99)} at ${fmtNum(big)} entries, ${fmtMs(summary['conv@small'].p99)} at ${fmtNum(small)} ` +
        `(${fmtRatio(ratio(summary['conv@big'].p99, summary['conv@small'].p99))}); goal p99 < 20 ms, flat: ${verdict(goals.conversations && goals.conversationsFlat)}`,
    );
    console.log(
      `gethistory (50) p99: ${fmtMs(summary['hist@big'].p99)} at ${fmtNum(big)} entries, ${fmtMs(summary['hist@small'].p99)} at ${fmtNum(small)}; ` +
        `goal p99 < 10 ms: ${verdict(goals.history)}`,
    );
    console.log(
      `searchmsgs p99 over ${fmtNum(big)} messages: ${fmtMs(summary['search@big'].p99)}; goal p99 < 50 ms: ${verdict(goals.search)}`,
    );
    console.log(
      `searchmsgs p99 by a user holding ${LIGHT_MESSAGES} of them: ${fmtMs(summary['search@light'].p99)} (the matches are found among everyone's messages)`,
    );
    console.log(
      `bare echo p99 in the same rounds: ${fmtMs(summary.bare.p99)}` + (clean ? '' : ' (some requests failed: figures not valid)'),
    );
    const out = {
      config: { rounds, durationS, warmupS, big, small, peers: PEERS, groups: GROUPS, ...load },
      fill,
      rows,
      summary,
      goals,
      clean,
    };
    writeResult('messenger', out);
    return out;
  } finally {
    await stopServers(servers);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Writes, through the store: 1,000 peers; `big` entries for the big reader
 * (2,000 with the pal, 10 groups of 20, the rest with 989 peers: 1,000
 * conversations), `small` for the small one (2,000 with the pal, the rest with
 * 999 peers), 200 for the light one, all interleaved in a random order.
 */
async function fillInboxes(dataDir, { bigUser, smallUser, lightUser, big, small }) {
  const t0 = performance.now();
  const { Store } = await loadStore();
  const store = Store.open({ dataDir, synchronous: 'NORMAL', log: () => {} });
  const rnd = prng(42);
  const text = () => {
    const n = 4 + Math.floor(rnd() * 10);
    const parts = [];
    for (let i = 0; i < n; i++) {
      const r = rnd();
      parts.push(
        r < 0.7
          ? WORDS[Math.floor(rnd() * WORDS.length)]
          : r < 0.92
            ? HAN[Math.floor(rnd() * HAN.length)]
            : EMOJI[Math.floor(rnd() * EMOJI.length)],
      );
    }
    return parts.join(' ');
  };
  try {
    const peers = [];
    for (let i = 0; i < PEERS; i += 200) {
      const made = await Promise.all(
        Array.from({ length: Math.min(200, PEERS - i) }, (_, k) => store.createUser({ username: `peer_${i + k}`, passwordHash: 'x' })),
      );
      peers.push(...made.map((u) => u.uid));
    }
    const pal = peers[0];
    const groups = [];
    for (let g = 0; g < GROUPS; g++) {
      const members = peers.slice(1 + g * 19, 1 + (g + 1) * 19);
      groups.push({
        groupId: (await store.createGroup({ owner: bigUser.uid, name: `group ${g}`, members })).groupId,
        members: [bigUser.uid, ...members],
      });
    }
    const sends = [];
    const pair = (me, other) => (rnd() < 0.5 ? { from: me, to: other } : { from: other, to: me });
    // The big reader: pal, groups (counting the group_created entries), peers 1..989 for the rest.
    for (let i = 0; i < PAL_MESSAGES; i++) sends.push(pair(bigUser.uid, pal));
    const perGroup = 2_000;
    for (const g of groups)
      for (let i = 0; i < perGroup; i++) sends.push({ from: g.members[Math.floor(rnd() * g.members.length)], groupId: g.groupId });
    const bigPeers = peers.slice(1, PEERS - GROUPS);
    const bigRest = big - PAL_MESSAGES - GROUPS * (perGroup + 1);
    for (let i = 0; i < bigRest; i++)
      sends.push(pair(bigUser.uid, i < bigPeers.length ? bigPeers[i] : bigPeers[Math.floor(rnd() * bigPeers.length)]));
    // The small reader: pal, then peers 1..999.
    for (let i = 0; i < PAL_MESSAGES; i++) sends.push(pair(smallUser.uid, pal));
    const smallPeers = peers.slice(1);
    for (let i = 0; i < small - PAL_MESSAGES; i++)
      sends.push(pair(smallUser.uid, i < smallPeers.length ? smallPeers[i] : smallPeers[Math.floor(rnd() * smallPeers.length)]));
    for (let i = 0; i < LIGHT_MESSAGES; i++) sends.push(pair(lightUser.uid, peers[1 + Math.floor(rnd() * 50)]));
    for (let i = sends.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [sends[i], sends[j]] = [sends[j], sends[i]];
    }
    let next = 0;
    const lane = async () => {
      while (next < sends.length) {
        const i = next++;
        await store.sendMessage({ ...sends[i], type: 'text', content: text(), clientMsgId: `fill-${i}` });
      }
    };
    await Promise.all(Array.from({ length: 1_000 }, lane));
    await store.whenIdle();
    console.log(`filled ${fmtNum(sends.length)} messages through the store in ${fmtNum((performance.now() - t0) / 1000, 1)} s`);
    return { pal, bigEntries: big, smallEntries: small, messages: sends.length };
  } finally {
    await store.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
