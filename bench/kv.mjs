// ctx.kv through a CGI against the echo CGI, on the same host in the same run:
// kvget (one get of an existing key per request) and kvset (one durable set
// of a new key per request, synchronous=FULL: its fsync is shared by the
// group commit) each against echo, in alternating rounds (ABBA order).
// Goal (issue 17): kv get and kv set each >= 0.8x the echo CGI's req/s.
//   node bench/kv.mjs [--rounds 6] [--duration 3] [--warmup 3] [--connections 50] [--tool auto|wrk|autocannon]
//                     [--config FILE]   (e.g. {"store":{"synchronous":"NORMAL"}} to see what the fsync costs)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { runLoad } from './lib/load.mjs';
import { startHost, stopServers, ROOT } from './lib/servers.mjs';
import { runRounds, roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import { median, fmtNum, fmtRatio, verdict, summariseRounds, pairedRatios } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson } from './lib/client.mjs';

const GOAL = 0.8;
const CGIS_DIR = join(ROOT, 'bench', 'fixtures', 'kv-cgis');
const SIDES = ['echo', 'kvget', 'kvset'];

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: { ...roundOptions(6), config: { type: 'string' } }, strict: false });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  console.log(`# kv: ctx.kv get and set through a CGI vs the echo CGI, one host (synchronous=FULL)`);
  console.log(`${load.tool}, ${load.connections} connections, ${rounds} rounds x ${durationS} s per side, warm-up ${warmupS} s`);
  const servers = {};
  try {
    servers.host = await startHost({ cgisDir: CGIS_DIR, configFile: a.config });
    const url = servers.host.url;
    console.log(`host: ${url} (pid ${servers.host.pid}, ready in ${fmtNum(servers.host.readyMs)} ms)`);
    for (const [cgi, body] of [
      ['kvset', { key: 'hot', text: 'a value of some forty bytes, like a row' }],
      ['kvget', { key: 'hot' }],
      ['echo', { text: 'hello, cgihost' }],
    ]) {
      const res = await postJson(`${url}/cgi-bin/${cgi}`, body);
      if (res.status !== 200) throw new Error(`${cgi} answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    const bodies = {
      echo: { body: { text: 'hello, cgihost' } },
      kvget: { body: { key: 'hot' } },
      kvset: { bodyTemplate: JSON.stringify({ key: 'k-{{id}}', text: 'a value of some forty bytes, like a row' }) },
    };
    const rows = await runRounds({
      sides: SIDES,
      rounds,
      durationS,
      warmupS,
      pidOf: () => servers.host.pid,
      load: (side, s) => runLoad({ url: `${url}/cgi-bin/${side}`, durationS: s, ...bodies[side], ...load }),
    });
    const summary = summariseRounds(rows, SIDES);
    const out = { config: { rounds, durationS, warmupS, ...load }, rounds: rows, summary, ratios: {} };
    const clean = SIDES.every((s) => summary[s].non2xx + summary[s].errors === 0);
    console.log('');
    for (const side of ['kvget', 'kvset']) {
      const paired = pairedRatios(rows, side, 'echo');
      const m = median(paired);
      out.ratios[side] = { paired, median: m, met: clean && m >= GOAL };
      console.log(
        `${side}/echo req/s: ${fmtRatio(m)} (median of per-round ratios: ${paired.map(fmtRatio).join(' ')})  goal >= ${GOAL}: ${verdict(out.ratios[side].met)}`,
      );
    }
    if (!clean) console.log('some requests failed: figures not valid');
    writeResult('kv', out);
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
