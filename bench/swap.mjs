// Swap under load (issue 3): the same steady load on an echo-like CGI, first
// with nothing happening ("steady"), then while its file is rewritten 10 times
// about 0.5 s apart ("swaps"), each rewrite a new version that the host
// compiles, loads on fresh workers and swaps in while the load runs. The bare
// node:http echo runs the same load in the same round, for reference.
// Rounds alternate the order of the two host phases (steady first, then swaps
// first), so that neither always runs on a warmer or quieter machine.
// Goals: no failed request (non-200 = 0); p99 during swaps < 2x steady p99.
//   node bench/swap.mjs [--rounds 5] [--duration 6] [--swaps 10] [--interval 0.5]
//                       [--connections 50] [--threads 1] [--tool auto|wrk|autocannon]
//                       [--no-bare]
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runLoad, pickTool } from './lib/load.mjs';
import { startBaseline, startHost, stopServers } from './lib/servers.mjs';
import { median, ratio, fmtNum, fmtMs, fmtRatio, printTable, verdict, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';

const GOAL_P99_RATIO = 2;
const TEXT = 'hello, cgihost';
const SWAP_DEADLINE_MS = 5_000;

const OPTIONS = {
  rounds: { type: 'string', default: '5' },
  duration: { type: 'string', default: '6' },
  swaps: { type: 'string', default: '10' },
  interval: { type: 'string', default: '0.5' },
  connections: { type: 'string', default: '50' },
  threads: { type: 'string', default: '1' },
  tool: { type: 'string', default: process.env.BENCH_TOOL || 'auto' },
  'no-bare': { type: 'boolean', default: false },
};

/** The echo CGI with a revision number: same answer, new code (so a new version) for each rev. */
function echoSource(rev) {
  return `import { defineCgi, z } from 'cgihost';

const REV = ${rev};

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ text: z.string().max(100) }),
  output: z.object({ echo: z.string() }),
  handler: (input) => ({ echo: REV >= 0 ? input.text : '' }),
});
`;
}

/**
 * Rewrites the CGI `swaps` times, one every `intervalMs`, and after each
 * rewrite polls until the new version serves. Resolves the swap latencies
 * and every poll answer that was not a 200.
 */
async function driveSwaps({ url, file, swaps, intervalMs, nextRev, startDelayMs }) {
  await sleep(startDelayMs);
  const t0 = performance.now();
  const latencies = [];
  const pollFailures = [];
  const versions = [];
  let current = (await postJson(url, { text: TEXT })).headers.get('x-cgi-version');
  versions.push(current);
  for (let i = 0; i < swaps; i++) {
    const wroteAt = performance.now();
    writeFileSync(file, echoSource(nextRev()));
    let seen = null;
    while (performance.now() - wroteAt < SWAP_DEADLINE_MS) {
      try {
        const r = await postJson(url, { text: TEXT });
        if (r.status !== 200) pollFailures.push(`${r.status} ${r.text.slice(0, 200)}`);
        else if (r.headers.get('x-cgi-version') !== current) {
          seen = r.headers.get('x-cgi-version');
          break;
        }
      } catch (err) {
        pollFailures.push(err.message);
      }
      await sleep(5);
    }
    latencies.push(seen ? performance.now() - wroteAt : NaN);
    if (seen) {
      current = seen;
      versions.push(seen);
    }
    const next = t0 + (i + 1) * intervalMs;
    if (performance.now() < next) await sleep(next - performance.now());
  }
  return { latencies, pollFailures, versions, spanMs: performance.now() - t0 };
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const rounds = boundedNumber(a.rounds, 'rounds', 1, 50);
  const swaps = boundedNumber(a.swaps, 'swaps', 1, 100);
  const intervalMs = boundedNumber(a.interval, 'interval', 0.05, 10) * 1000;
  const startDelayMs = 500;
  // The swap phase must hold every swap plus a little load before and after.
  const minDuration = Math.ceil((startDelayMs + swaps * intervalMs) / 1000) + 1;
  const durationS = Math.max(boundedNumber(a.duration, 'duration', 1, 120), minDuration);
  const load = {
    connections: boundedNumber(a.connections, 'connections', 1, 10_000),
    threads: boundedNumber(a.threads, 'threads', 1, 16),
    tool: pickTool(a.tool),
  };
  const withBare = !a['no-bare'];

  console.log('# swap: echo-like CGI under steady load, then the same load during file rewrites');
  console.log(
    `${load.tool}, ${load.connections} connections, ${rounds} rounds x ${durationS} s per phase, ` +
      `${swaps} swaps ${fmtNum(intervalMs)} ms apart per swap phase${withBare ? ', bare node:http for reference' : ''}`,
  );

  const cgisDir = mkdtempSync(join(tmpdir(), 'cgihost-bench-swap-'));
  mkdirSync(join(cgisDir, 'demo'));
  const file = join(cgisDir, 'demo', 'echo.ts');
  let rev = 0;
  const nextRev = () => ++rev;
  writeFileSync(file, echoSource(rev));

  const servers = {};
  try {
    servers.host = await startHost({ cgisDir });
    console.log(`host: ${servers.host.url} (pid ${servers.host.pid}, ready in ${fmtNum(servers.host.readyMs)} ms)`);
    if (withBare) {
      servers.bare = await startBaseline();
      console.log(`bare: ${servers.bare.url} (pid ${servers.bare.pid})`);
    }
    const hostUrl = `${servers.host.url}/cgi-bin/echo`;
    const first = await postJson(hostUrl, { text: TEXT });
    if (first.status !== 200 || first.json?.echo !== TEXT)
      throw new Error(`host does not echo: ${first.status} ${first.text.slice(0, 300)}`);

    const run = (url, s) => runLoad({ url, body: { text: TEXT }, durationS: s, ...load });
    // Warm-up: JIT, connection pools, the first swap's esbuild start.
    await run(hostUrl, 2);
    writeFileSync(file, echoSource(nextRev()));
    await sleep(1000);
    if (withBare) await run(`${servers.bare.url}/cgi-bin/echo`, 2);

    const rows = [];
    for (let r = 1; r <= rounds; r++) {
      const phases = r % 2 === 1 ? ['steady', 'swaps'] : ['swaps', 'steady'];
      if (withBare) phases.unshift('bare');
      for (const phase of phases) {
        await sleep(500);
        let res;
        let swap;
        if (phase === 'bare') res = await run(`${servers.bare.url}/cgi-bin/echo`, durationS);
        else if (phase === 'steady') res = await run(hostUrl, durationS);
        else {
          [res, swap] = await Promise.all([
            run(hostUrl, durationS),
            driveSwaps({ url: hostUrl, file, swaps, intervalMs, nextRev, startDelayMs }),
          ]);
        }
        const row = { round: r, phase, ...res };
        if (swap) {
          row.swapsDone = swap.versions.length - 1;
          row.distinctVersions = new Set(swap.versions).size;
          row.swapMs = swap.latencies;
          row.pollFailures = swap.pollFailures.length;
          row.pollFailureSamples = swap.pollFailures.slice(0, 5);
        }
        row.non200 = res.non2xx + res.errors + (row.pollFailures ?? 0);
        rows.push(row);
        console.log(
          `round ${r} ${phase.padEnd(6)} ${fmtNum(res.rps).padStart(8)} req/s  p50 ${fmtMs(res.p50)}  p99 ${fmtMs(res.p99)}  max ${fmtMs(res.max)}` +
            (swap ? `  swaps ${row.swapsDone}/${swaps} (median ${fmtMs(median(swap.latencies))} to serve)` : '') +
            (row.non200
              ? `  NON-200 ${row.non200} (non2xx ${res.non2xx}, socket errors ${res.errors}, poll ${row.pollFailures ?? 0})`
              : ''),
        );
        if (row.pollFailureSamples?.length) console.log(`  e.g. ${row.pollFailureSamples[0]}`);
      }
    }
    return report({ rounds, durationS, swaps, intervalMs, load, rows, withBare });
  } finally {
    await stopServers(servers);
    rmSync(cgisDir, { recursive: true, force: true });
  }
}

function report({ rounds, durationS, swaps, intervalMs, load, rows, withBare }) {
  console.log('');
  printTable(
    ['round', 'phase', 'req/s', 'p50', 'p99', 'max', 'swaps', 'non-200'],
    rows.map((r) => [r.round, r.phase, fmtNum(r.rps), fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), r.swapsDone ?? '', r.non200]),
  );

  const phases = withBare ? ['bare', 'steady', 'swaps'] : ['steady', 'swaps'];
  const summary = {};
  for (const p of phases) {
    const mine = rows.filter((r) => r.phase === p);
    summary[p] = {
      rps: median(mine.map((r) => r.rps)),
      p50: median(mine.map((r) => r.p50)),
      p99: median(mine.map((r) => r.p99)),
      max: Math.max(...mine.map((r) => r.max)),
      non200: mine.reduce((s, r) => s + r.non200, 0),
    };
  }
  const swapRows = rows.filter((r) => r.phase === 'swaps');
  const allSwapMs = swapRows.flatMap((r) => r.swapMs);
  summary.swapTimes = {
    done: swapRows.reduce((s, r) => s + r.swapsDone, 0),
    planned: swaps * rounds,
    medianMsToServe: median(allSwapMs),
    maxMsToServe: Math.max(...allSwapMs.filter(Number.isFinite)),
  };
  const paired = [];
  for (let r = 1; r <= rounds; r++) {
    const s = rows.find((x) => x.round === r && x.phase === 'steady');
    const w = rows.find((x) => x.round === r && x.phase === 'swaps');
    paired.push({ p99: ratio(w.p99, s.p99), rps: ratio(w.rps, s.rps) });
  }
  console.log('\nmedians');
  printTable(
    ['phase', 'req/s', 'p50', 'p99', 'max', 'non-200'],
    phases.map((p) => [p, fmtNum(summary[p].rps), fmtMs(summary[p].p50), fmtMs(summary[p].p99), fmtMs(summary[p].max), summary[p].non200]),
  );

  // Headline: the median of per-round ratios (each pairs phases run back to
  // back); the ratio of the medians is printed beside it as a check on noise.
  const p99Ratio = median(paired.map((x) => x.p99));
  const p99RatioOfMedians = ratio(summary.swaps.p99, summary.steady.p99);
  const rpsRatio = median(paired.map((x) => x.rps));
  const non200 = summary.steady.non200 + summary.swaps.non200;
  const allSwapped = summary.swapTimes.done === summary.swapTimes.planned;
  const goal = {
    p99Ratio: GOAL_P99_RATIO,
    p99Met: p99Ratio < GOAL_P99_RATIO,
    non200Met: non200 === 0,
    allSwapped,
    met: p99Ratio < GOAL_P99_RATIO && non200 === 0 && allSwapped,
  };
  console.log(
    `\nswaps: ${summary.swapTimes.done}/${summary.swapTimes.planned} served, median ${fmtMs(summary.swapTimes.medianMsToServe)} from write to serving ` +
      `(max ${fmtMs(summary.swapTimes.maxMsToServe)})`,
  );
  console.log(
    `p99 swaps/steady: ${fmtRatio(p99Ratio)} (median of per-round ratios: ${paired.map((x) => fmtRatio(x.p99)).join(' ')}); ` +
      `ratio of medians ${fmtRatio(p99RatioOfMedians)}; req/s swaps/steady: ${fmtRatio(rpsRatio)}`,
  );
  if (withBare) {
    console.log(
      `for reference, host steady/bare: req/s ${fmtRatio(ratio(summary.steady.rps, summary.bare.rps))}, ` +
        `p99 ${fmtRatio(ratio(summary.steady.p99, summary.bare.p99))}`,
    );
  }
  console.log(
    `goal p99 during swaps < ${GOAL_P99_RATIO}x steady: ${verdict(goal.p99Met)}; non-200 = 0: ${verdict(goal.non200Met)} (${non200})` +
      (allSwapped ? '' : `; only ${summary.swapTimes.done} of ${summary.swapTimes.planned} swaps were seen serving`),
  );

  const out = {
    config: { rounds, durationS, swaps, intervalMs, ...load, bare: withBare },
    rounds: rows,
    summary,
    pairedRatios: paired,
    p99Ratio,
    p99RatioOfMedians,
    rpsRatio,
    non200,
    goal,
  };
  writeResult('swap', out);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
