// sync of 100 entries (issue 4 Speed): requests/s of `sync {syncKey: 0, limit: 100}`
// by a user with `--messages` (>= 100) entries in their inbox, through the
// built-in cgis/ on the host, against the bare node:http echo in the same run,
// rounds alternating in ABBA order with the same load (static body, one token).
// Each sync answer carries 100 full entries (~20 KB of JSON); the echo answer
// is a few bytes, so the ratio shows what reading and encoding them costs.
//   node bench/sync.mjs [--rounds 6] [--duration 3] [--warmup 3] [--connections 50]
//                       [--messages 150] [--limit 100] [--threads 1] [--tool auto|wrk|autocannon]
//                       [--config FILE]   (a host config, e.g. more workers for msgsync/sync)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { runLoad } from './lib/load.mjs';
import { startBaseline, startHost, stopServers, ROOT } from './lib/servers.mjs';
import { runRounds, roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import { median, ratio, fmtNum, fmtRatio, boundedNumber, summariseRounds, pairedRatios, verdict } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson } from './lib/client.mjs';
import { makeUsers, sendText, sync, auth } from './lib/users.mjs';

// Issue 18: sync of 100 entries at least a fifth of the bare echo's req/s.
const GOAL = 0.2;
const CGIS_DIR = join(ROOT, 'cgis');

const OPTIONS = {
  ...roundOptions(6),
  messages: { type: 'string', default: '150' },
  limit: { type: 'string', default: '100' },
  config: { type: 'string' },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  const limit = boundedNumber(a.limit, 'limit', 1, 500);
  const messages = boundedNumber(a.messages, 'messages', limit, 100_000);
  const sides = ['bare', 'host'];
  console.log(`# sync: sync of ${limit} entries (syncKey 0) over HTTP vs bare node:http echo`);
  console.log(
    `${load.tool}, ${load.connections} connections, ${load.threads} thread(s), ${rounds} rounds x ${durationS} s per side, ` +
      `warm-up ${warmupS} s; the reader has ${messages} entries`,
  );

  const servers = {};
  try {
    servers.bare = await startBaseline();
    servers.host = await startHost({ cgisDir: CGIS_DIR, configFile: a.config });
    for (const side of sides)
      console.log(`${side}: ${servers[side].url} (pid ${servers[side].pid}, ready in ${fmtNum(servers[side].readyMs)} ms)`);
    const url = servers.host.url;
    const [sender, reader] = await makeUsers(url, { prefix: 'sy', count: 2, concurrency: 2 });
    // The reader's inbox: `messages` entries of realistic text, sent 8 at a time.
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < messages) {
          const i = next++;
          const r = await sendText(url, sender.token, {
            to: reader.uid,
            content: `message number ${i} of the sync bench, a line of ordinary chat text`,
            clientMsgId: `fill-${i}`,
          });
          if (r.status !== 200) throw new Error(`sendmsg: ${r.status} ${r.text}`);
        }
      }),
    );
    console.log(`${messages} messages sent to the reader in ${fmtNum(performance.now() - t0)} ms`);
    const body = { syncKey: 0, limit };
    const s = await sync(url, reader.token, body);
    if (s.status !== 200 || s.json.messages.length !== limit || s.json.syncKey !== limit || s.json.continueFlag !== messages > limit) {
      throw new Error(`sanity sync: ${s.status} ${s.text.slice(0, 300)}`);
    }
    const answerBytes = Buffer.byteLength(s.text);
    console.log(`sync answer: ${limit} entries, ${fmtNum(answerBytes)} bytes`);
    const e = await postJson(`${servers.bare.url}/cgi-bin/echo`, { text: 'hello, cgihost' });
    if (e.status !== 200) throw new Error(`bare does not echo: ${e.status}`);

    const target = {
      bare: { url: `${servers.bare.url}/cgi-bin/echo`, body: { text: 'hello, cgihost' } },
      host: { url: `${url}/cgi-bin/sync`, body, headers: auth(reader.token) },
    };
    const rows = await runRounds({
      sides,
      rounds,
      durationS,
      warmupS,
      pidOf: (side) => servers[side].pid,
      load: (side, secs) => runLoad({ ...target[side], durationS: secs, ...load }),
    });
    const summary = summariseRounds(rows, sides);
    const paired = pairedRatios(rows, 'host', 'bare');
    const clean = sides.every((x) => summary[x].non2xx + summary[x].errors === 0);
    const out = {
      config: { rounds, durationS, warmupS, limit, messages, ...load },
      answerBytes,
      rounds: rows,
      summary,
      pairedRatios: paired,
      medianPairedRatio: median(paired),
      ratio: ratio(summary.host.rps, summary.bare.rps),
      cpuRatio: ratio(summary.host.cpuUsPerReq, summary.bare.cpuUsPerReq),
      clean,
      entriesPerSecond: summary.host.rps * limit,
    };
    out.goal = { ratio: GOAL, met: clean && out.medianPairedRatio >= GOAL, clean };
    console.log(
      `\nsync(${limit} entries)/bare echo req/s: ${fmtRatio(out.medianPairedRatio)} (median of per-round ratios: ${paired.map(fmtRatio).join(' ')}), ` +
        `${fmtRatio(out.ratio)} (ratio of medians); server CPU per request ${fmtRatio(out.cpuRatio)}`,
    );
    console.log(
      `sync: ${fmtNum(summary.host.rps)} req/s median = ${fmtNum(out.entriesPerSecond)} entries/s read and sent` +
        (clean ? '' : ' (some requests failed: figures not valid)'),
    );
    console.log(`goal sync(${limit})/bare echo >= ${GOAL}: ${verdict(out.goal.met)}`);
    writeResult('sync', out);
    return out;
  } finally {
    await stopServers(servers);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
