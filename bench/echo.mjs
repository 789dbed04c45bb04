// Headline bench: the echo CGI through the host (worker isolation, zod
// validation) against the bare node:http echo and the bare worker hop
// (node:http handing each request to one worker, batched per turn), in one
// run, in alternating rounds (ABBA order, so no side always runs on a warmer
// machine), with the same load. Goals (issue 18): host/bare >= 1.0 and
// host/hop >= 0.7 in req/s.
// --alt-config FILE adds an "alt" side, the host again with another config, in
// the same alternating rounds, and prints alt/host per round (an A/B of a
// setting, e.g. {"log":{"access":false}}; result in echo-ab.json). --alt-cli
// FILE makes the alt side another build's dist/cli.js (an A/B of a change:
// copy dist/ to dist-ab/ before rebuilding), with --alt-config or the same config.
// --ring adds the bare hop through shared-memory rings (Atomics) beside the
// postMessage one and prints ring/hop (SPIN_US in the environment: how long
// its worker spins before it sleeps).
// Rounds are short and many because this machine's speed drifts in spells of
// several seconds: a host round and a bare round back to back see the same spell.
//   node bench/echo.mjs [--rounds 8] [--duration 3] [--warmup 3] [--connections 50]
//                       [--threads 1] [--tool auto|wrk|autocannon] [--metrics on|off]
//                       [--config FILE] [--only all|bare,hop,host] [--alt-config FILE] [--alt-cli FILE] [--ring]
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { runLoad } from './lib/load.mjs';
import { startBaseline, startHop, startHopRing, startHost, stopServers, ROOT } from './lib/servers.mjs';
import { runRounds, roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import { median, ratio, fmtNum, fmtRatio, verdict, summariseRounds, pairedRatios } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson } from './lib/client.mjs';

const GOAL = 1.0;
const HOP_GOAL = 0.7;
const SIDES = ['bare', 'hop', 'host'];
const CGIS_DIR = join(ROOT, 'bench', 'fixtures', 'echo-cgis');
const TEXT = 'hello, cgihost';

const OPTIONS = {
  ...roundOptions(8),
  metrics: { type: 'string', default: 'on' },
  config: { type: 'string' },
  only: { type: 'string', default: 'all' },
  'alt-config': { type: 'string' },
  'alt-cli': { type: 'string' },
  ring: { type: 'boolean', default: false },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  // `both` is the former bare + host pair.
  const only = a.only === 'all' ? SIDES : a.only === 'both' ? ['bare', 'host'] : a.only.split(',');
  const sides = SIDES.filter((s) => only.includes(s));
  if (!sides.length || only.some((s) => !SIDES.includes(s))) throw new Error('--only is all, both, or a list of bare,hop,host');
  if (a['alt-config'] || a['alt-cli']) sides.push('alt');
  if (a.ring) sides.push('ring');
  if (a.metrics !== 'on' && a.metrics !== 'off') throw new Error('--metrics is on or off');

  // --metrics off is passed through to the host as a config file.
  let tmp;
  let configFile = a.config;
  if (a.metrics === 'off' && sides.includes('host')) {
    if (configFile) throw new Error('--metrics off and --config are exclusive: put metrics.enabled=false in your config');
    tmp = mkdtempSync(join(tmpdir(), 'cgihost-bench-echo-'));
    configFile = join(tmp, 'host.config.json');
    writeFileSync(configFile, JSON.stringify({ metrics: { enabled: false } }) + '\n');
  }

  console.log(`# echo: host echo CGI vs bare node:http echo and bare worker hop`);
  console.log(
    `${load.tool}, ${load.connections} connections, ${load.threads} thread(s), ` +
      `${rounds} rounds x ${durationS} s per side, warm-up ${warmupS} s, metrics ${a.metrics}`,
  );

  const start = {
    bare: () => startBaseline(),
    hop: () => startHop(),
    ring: () => startHopRing({ env: process.env.SPIN_US ? { SPIN_US: process.env.SPIN_US } : undefined }),
    host: () => startHost({ cgisDir: CGIS_DIR, configFile }),
    alt: () => startHost({ cgisDir: CGIS_DIR, configFile: a['alt-config'] ?? configFile, cli: a['alt-cli'] }),
  };
  const servers = {};
  try {
    for (const side of sides) {
      servers[side] = await start[side]();
      console.log(`${side}: ${servers[side].url} (pid ${servers[side].pid}, ready in ${fmtNum(servers[side].readyMs)} ms)`);
    }
    const sanity = {};
    for (const side of sides) sanity[side] = await checkEcho(side, servers[side].url);

    const rows = await runRounds({
      sides,
      rounds,
      durationS,
      warmupS,
      pidOf: (side) => servers[side].pid,
      load: (side, s) => runLoad({ url: `${servers[side].url}/cgi-bin/echo`, body: { text: TEXT }, durationS: s, ...load }),
    });
    return report({ a, rounds, durationS, warmupS, load, sides, servers, sanity, rows });
  } finally {
    await stopServers(servers);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

async function checkEcho(side, url) {
  const res = await postJson(`${url}/cgi-bin/echo`, { text: TEXT });
  if (res.status !== 200 || res.json?.echo !== TEXT) {
    throw new Error(`${side} does not echo: ${res.status} ${res.text.slice(0, 300)}`);
  }
  const sanity = { status: res.status, requestId: res.headers.get('x-request-id'), cgiVersion: res.headers.get('x-cgi-version') };
  if ((side === 'host' || side === 'alt') && (!sanity.requestId || !sanity.cgiVersion)) {
    console.log('warning: host answer lacks x-request-id or x-cgi-version (SPEC §3)');
  }
  return sanity;
}

function report({ a, rounds, durationS, warmupS, load, sides, servers, sanity, rows }) {
  const summary = summariseRounds(rows, sides);

  const out = {
    config: {
      rounds,
      durationS,
      warmupS,
      ...load,
      metrics: a.metrics,
      configFile: a.config ?? null,
      altConfigFile: a['alt-config'] ?? null,
      altCli: a['alt-cli'] ?? null,
      only: a.only,
    },
    sanity,
    rounds: rows,
    summary,
  };
  if (servers.host) out.hostLogBytes = servers.host.outputBytes();
  const clean = sides.every((s) => summary[s].non2xx + summary[s].errors === 0);
  out.ratios = {};
  console.log('');
  for (const [side, base] of [
    ['host', 'bare'],
    ['host', 'hop'],
    ['hop', 'bare'],
    ['ring', 'hop'],
  ]) {
    if (!summary[side] || !summary[base]) continue;
    // Paired ratios compare rounds run back to back, so slow drifts of a noisy
    // machine cancel out; their median is the headline figure.
    const paired = pairedRatios(rows, side, base);
    const r = {
      medianPairedRatio: median(paired),
      pairedRatios: paired,
      ratioOfMedians: ratio(summary[side].rps, summary[base].rps),
      p99Ratio: ratio(summary[side].p99, summary[base].p99),
      cpuRatio: ratio(summary[side].cpuUsPerReq, summary[base].cpuUsPerReq),
    };
    out.ratios[`${side}/${base}`] = r;
    console.log(
      `${side}/${base} req/s: ${fmtRatio(r.medianPairedRatio)} (per round: ${paired.map(fmtRatio).join(' ')}; ` +
        `ratio of medians ${fmtRatio(r.ratioOfMedians)}); p99 ${fmtRatio(r.p99Ratio)}; CPU per request ${fmtRatio(r.cpuRatio)}`,
    );
  }
  console.log(
    `server CPU per request (main thread): ${sides.map((s) => `${s} ${fmtNum(summary[s].cpuUsPerReq, 1)} us (${fmtNum(summary[s].mainCpuUsPerReq, 1)})`).join(', ')}`,
  );
  if (out.ratios['host/bare']) {
    // The former fields, kept for readers of echo.json.
    Object.assign(out, {
      ratio: out.ratios['host/bare'].ratioOfMedians,
      pairedRatios: out.ratios['host/bare'].pairedRatios,
      medianPairedRatio: out.ratios['host/bare'].medianPairedRatio,
      cpuRatio: out.ratios['host/bare'].cpuRatio,
    });
    out.goal = { ratio: GOAL, met: clean && out.medianPairedRatio >= GOAL, clean };
    console.log(`goal host/bare >= ${GOAL}: ${verdict(out.goal.met)}${clean ? '' : ' (some requests failed: figures not valid)'}`);
  }
  if (out.ratios['host/hop']) {
    out.hopGoal = { ratio: HOP_GOAL, met: clean && out.ratios['host/hop'].medianPairedRatio >= HOP_GOAL, clean };
    console.log(`goal host/hop >= ${HOP_GOAL}: ${verdict(out.hopGoal.met)}`);
  }
  if (summary.alt && summary.host) {
    const ab = pairedRatios(rows, 'alt', 'host');
    out.altOverHost = { medianPaired: median(ab), paired: ab, cpu: ratio(summary.alt.cpuUsPerReq, summary.host.cpuUsPerReq) };
    console.log(
      `A/B alt/host req/s: ${fmtRatio(median(ab))} (per round: ${ab.map(fmtRatio).join(' ')}); CPU per request ${fmtRatio(out.altOverHost.cpu)}`,
    );
  }
  if (out.hostLogBytes > 1e6) console.log(`note: the host logged ${fmtNum(out.hostLogBytes / 1e6, 1)} MB during the run`);
  const name = [
    'echo',
    a.metrics === 'off' ? 'metrics-off' : '',
    a.only !== 'all' ? `${sides.filter((s) => s !== 'alt').join('-')}-only` : '',
    summary.alt ? 'ab' : '',
    summary.ring ? 'ring' : '',
  ]
    .filter(Boolean)
    .join('-');
  writeResult(name, out);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
