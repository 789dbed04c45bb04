// An idle host: what it spends while nobody uses it. The host with the
// built-in cgis/ (every CGI, consumer and schedule in its own worker), left
// alone for --settle seconds (V8 collects what start-up left for about a
// minute), then its CPU time over --rounds windows of --window seconds: the
// whole process and its main thread. Beside it, in the same windows, the
// floor: a bare node process holding as many worker threads that do nothing
// (no timers); and with --alt-cli FILE another build's host (an A/B, e.g. the
// build before a change copied to dist-ab/).
//   node bench/idle.mjs [--settle 60] [--window 10] [--rounds 3] [--alt-cli dist-ab/cli.js]
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { startHost, startBareThreads, stopServers, cpuTimeMs, mainThreadCpuTimeMs, ROOT } from './lib/servers.mjs';
import { median, fmtNum, printTable, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { sleep } from './lib/client.mjs';

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      settle: { type: 'string', default: '60' },
      window: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      'alt-cli': { type: 'string' },
    },
    strict: false,
  });
  const settleS = boundedNumber(a.settle, 'settle', 0, 3600);
  const windowS = boundedNumber(a.window, 'window', 1, 600);
  const rounds = boundedNumber(a.rounds, 'rounds', 1, 100);
  const cgisDir = join(ROOT, 'cgis');
  console.log(`# idle: CPU of a host nobody uses (the built-in cgis/), after ${settleS} s, ${rounds} windows of ${windowS} s`);
  const sides = {};
  try {
    sides.host = await startHost({ cgisDir });
    if (a['alt-cli']) sides.alt = await startHost({ cgisDir, cli: resolve(a['alt-cli']) });
    const threads = readdirSync(`/proc/${sides.host.pid}/task`).length;
    // The floor gets as many threads as the host has workers (its threads less the main thread, V8's 4 and libuv's).
    sides.bare = await startBareThreads(Math.max(1, threads - 6));
    console.log(
      Object.entries(sides)
        .map(([k, s]) => `${k}: pid ${s.pid}, ${readdirSync(`/proc/${s.pid}/task`).length} threads`)
        .join('; '),
    );
    console.log(`settling ${settleS} s ...`);
    await sleep(settleS * 1000);
    const rows = [];
    for (let r = 0; r < rounds; r++) {
      const before = Object.fromEntries(Object.entries(sides).map(([k, s]) => [k, [cpuTimeMs(s.pid), mainThreadCpuTimeMs(s.pid)]]));
      await sleep(windowS * 1000);
      const row = {};
      for (const [k, s] of Object.entries(sides)) {
        row[k] = {
          msPerS: (cpuTimeMs(s.pid) - before[k][0]) / windowS,
          mainMsPerS: (mainThreadCpuTimeMs(s.pid) - before[k][1]) / windowS,
        };
      }
      rows.push(row);
      console.log(
        `window ${r + 1}: ` +
          Object.entries(row)
            .map(([k, v]) => `${k} ${fmtNum(v.msPerS, 1)} ms/s`)
            .join(', '),
      );
    }
    const summary = Object.fromEntries(
      Object.keys(sides).map((k) => [
        k,
        { msPerS: median(rows.map((r) => r[k].msPerS)), mainMsPerS: median(rows.map((r) => r[k].mainMsPerS)) },
      ]),
    );
    console.log('');
    printTable(
      ['side', 'CPU ms/s (median)', '% of a core', 'main thread ms/s'],
      Object.entries(summary).map(([k, v]) => [k, fmtNum(v.msPerS, 1), `${(v.msPerS / 10).toFixed(2)}%`, fmtNum(v.mainMsPerS, 1)]),
    );
    const out = { config: { settleS, windowS, rounds, altCli: a['alt-cli'] ?? null }, rounds: rows, summary };
    writeResult('idle', out);
    return out;
  } finally {
    sides.bare?.kill();
    await stopServers({ host: sides.host, alt: sides.alt });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
