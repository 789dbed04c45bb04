// An idle host: what it spends while nobody uses it. The host with the
// built-in cgis/ (every CGI, consumer and schedule in its own worker), left
// alone for --settle seconds (V8 collects what start-up left for about a
// minute), then its CPU time over --rounds windows of --window seconds: the
// whole process and its main thread. Beside it, in the same windows, the
// floor: a bare node process holding as many worker threads that do nothing
// (no timers); and with --alt-cli FILE another build's host (an A/B, e.g. the
// build before a change copied to dist-ab/).
//   node bench/idle.mjs [--settle 60] [--window 10] [--rounds 3] [--alt-cli dist-ab/cli.js]
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { startHost, stopServers, cpuTimeMs, ROOT } from './lib/servers.mjs';
import { median, fmtNum, printTable, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { sleep } from './lib/client.mjs';

/** CPU time (ms) of one thread of a process. */
function threadCpuMs(pid, tid) {
  const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** A bare node process with `n` worker threads that do nothing: what as many idle threads cost at all. */
async function bareThreads(n) {
  const code = `const { Worker } = require('node:worker_threads');
let up = 0;
for (let i = 0; i < ${n}; i++) {
  const w = new Worker('const p = require("node:worker_threads").parentPort; p.on("message", () => {}); p.postMessage(1)', { eval: true });
  w.once('message', () => { if (++up === ${n}) console.log('up'); });
}
// Each worker is kept alive by its listening port, the process by the workers: no timer anywhere.`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((res, rej) => {
    child.once('exit', (c) => rej(new Error(`bare threads exited early (${c})`)));
    child.stdout.on('data', (d) => String(d).includes('up') && res());
  });
  return { pid: child.pid, kill: () => child.kill('SIGKILL') };
}

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
    sides.bare = await bareThreads(Math.max(1, threads - 6));
    console.log(
      Object.entries(sides)
        .map(([k, s]) => `${k}: pid ${s.pid}, ${readdirSync(`/proc/${s.pid}/task`).length} threads`)
        .join('; '),
    );
    console.log(`settling ${settleS} s ...`);
    await sleep(settleS * 1000);
    const rows = [];
    for (let r = 0; r < rounds; r++) {
      const before = Object.fromEntries(Object.entries(sides).map(([k, s]) => [k, [cpuTimeMs(s.pid), threadCpuMs(s.pid, s.pid)]]));
      await sleep(windowS * 1000);
      const row = {};
      for (const [k, s] of Object.entries(sides)) {
        row[k] = {
          msPerS: (cpuTimeMs(s.pid) - before[k][0]) / windowS,
          mainMsPerS: (threadCpuMs(s.pid, s.pid) - before[k][1]) / windowS,
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
