// The single binary (dist/cgihost, `npm run build:binary`) against `npm start`
// (node dist/cli.js start), both serving the same built-in CGIs:
//   startup  spawn → `listening on` line → first answered echo, per run; the
//            binary in an empty folder with its cache dir already written
//            (warm) and with a fresh one (cold: first start on a machine);
//            npm start with --cgis-dir cgis
//   echo     req/s of POST /cgi-bin/echo, rounds alternating ABBA, medians and
//            the median of per-round binary/npm-start ratios
//   node bench/binary.mjs [--runs 5] [--rounds 6] [--duration 3] [--warmup 2] [--connections 50] [--tool auto|wrk|autocannon]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runLoad, pickTool } from './lib/load.mjs';
import { ROOT, cpuTimeMs } from './lib/servers.mjs';
import { median, ratio, fmtNum, fmtMs, fmtRatio, printTable, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';

const BINARY = join(ROOT, 'dist', 'cgihost');
const CLI = join(ROOT, 'dist', 'cli.js');
const TEXT = 'hello, cgihost';
const OPTIONS = {
  runs: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '6' },
  duration: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '2' },
  connections: { type: 'string', default: '50' },
  tool: { type: 'string', default: process.env.BENCH_TOOL || 'auto' },
};

/** Starts one side in a fresh temp folder; resolves once it has answered an echo. */
async function start(side, { cacheDir } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `cgihost-bench-${side}-`));
  const [cmd, args] =
    side === 'binary'
      ? [BINARY, ['start', '--port', '0', '--host', '127.0.0.1']]
      : [process.execPath, [CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--cgis-dir', join(ROOT, 'cgis')]];
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    cwd: dir,
    env: { ...process.env, ...(cacheDir ? { CGIHOST_CACHE_DIR: cacheDir } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${side}: not listening after 60 s\n${out}`)), 60_000);
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => reject(new Error(`${side} exited with ${code}\n${out}`)));
  });
  const listeningMs = performance.now() - t0;
  const res = await postJson(`${url}/cgi-bin/echo`, { text: TEXT });
  if (res.status !== 200 || res.json?.echo !== TEXT) throw new Error(`${side} does not echo: ${res.status} ${res.text}`);
  const firstAnswerMs = performance.now() - t0;
  // CPU time to get there (all threads, esbuild's child too): steadier than wall time on a shared machine.
  const startCpuMs = cpuTimeMs(child.pid);
  return {
    side,
    url,
    pid: child.pid,
    listeningMs,
    firstAnswerMs,
    startCpuMs,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const runs = boundedNumber(a.runs, 'runs', 1, 50);
  const rounds = boundedNumber(a.rounds, 'rounds', 1, 50);
  const durationS = boundedNumber(a.duration, 'duration', 1, 120);
  const warmupS = boundedNumber(a.warmup, 'warmup', 0, 60);
  const load = { connections: boundedNumber(a.connections, 'connections', 1, 10_000), tool: pickTool(a.tool) };
  for (const f of [BINARY, CLI]) if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build:binary\` first`);
  const sizeMB = statSync(BINARY).size / 1e6;
  console.log(`# binary: dist/cgihost (${fmtNum(sizeMB, 1)} MB) vs npm start (node dist/cli.js), built-in CGIs`);

  // Startup, alternating sides so both see the same spells of a noisy machine.
  const warmCache = mkdtempSync(join(tmpdir(), 'cgihost-bench-cache-'));
  const startRows = [];
  try {
    await (await start('binary', { cacheDir: warmCache })).stop(); // writes the cache dir
    for (let r = 1; r <= runs; r++) {
      const coldCache = mkdtempSync(join(tmpdir(), 'cgihost-bench-cold-'));
      for (const [label, side, cacheDir] of [
        ['npm start', 'node', undefined],
        ['binary (warm cache)', 'binary', warmCache],
        ['binary (cold cache)', 'binary', coldCache],
      ]) {
        await sleep(300);
        const s = await start(side, { cacheDir });
        await s.stop();
        startRows.push({ run: r, label, listeningMs: s.listeningMs, firstAnswerMs: s.firstAnswerMs, cpuMs: s.startCpuMs });
        console.log(
          `run ${r} ${label.padEnd(20)} listening ${fmtNum(s.listeningMs)} ms, first answer ${fmtNum(s.firstAnswerMs)} ms, cpu ${fmtNum(s.startCpuMs)} ms`,
        );
      }
      rmSync(coldCache, { recursive: true, force: true });
    }
  } finally {
    rmSync(warmCache, { recursive: true, force: true });
  }
  const labels = [...new Set(startRows.map((r) => r.label))];
  const startup = Object.fromEntries(
    labels.map((l) => {
      const mine = startRows.filter((r) => r.label === l);
      return [
        l,
        {
          listeningMs: median(mine.map((r) => r.listeningMs)),
          firstAnswerMs: median(mine.map((r) => r.firstAnswerMs)),
          cpuMs: median(mine.map((r) => r.cpuMs)),
        },
      ];
    }),
  );
  console.log('\nstartup medians');
  printTable(
    ['side', 'listening', 'first answer', 'cpu to first answer'],
    labels.map((l) => [
      l,
      `${fmtNum(startup[l].listeningMs)} ms`,
      `${fmtNum(startup[l].firstAnswerMs)} ms`,
      `${fmtNum(startup[l].cpuMs)} ms`,
    ]),
  );

  // Echo throughput.
  const servers = {};
  const rows = [];
  try {
    servers.node = await start('node');
    servers.binary = await start('binary');
    const run = async (side, s) => {
      const cpu0 = cpuTimeMs(servers[side].pid);
      const res = await runLoad({ url: `${servers[side].url}/cgi-bin/echo`, body: { text: TEXT }, durationS: s, ...load });
      return { ...res, cpuUsPerReq: ((cpuTimeMs(servers[side].pid) - cpu0) * 1000) / res.requests };
    };
    if (warmupS > 0) for (const side of ['node', 'binary']) await run(side, warmupS);
    for (let r = 1; r <= rounds; r++) {
      for (const side of r % 2 ? ['node', 'binary'] : ['binary', 'node']) {
        await sleep(300);
        const res = await run(side, durationS);
        rows.push({ round: r, side, ...res });
        console.log(
          `round ${r} ${side.padEnd(6)} ${fmtNum(res.rps).padStart(8)} req/s  p50 ${fmtMs(res.p50)}  p99 ${fmtMs(res.p99)}  cpu ${fmtNum(res.cpuUsPerReq, 1)} us/req` +
            (res.non2xx || res.errors ? `  non2xx ${res.non2xx} errors ${res.errors}` : ''),
        );
      }
    }
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
  const summary = Object.fromEntries(
    ['node', 'binary'].map((side) => {
      const mine = rows.filter((r) => r.side === side);
      return [
        side,
        {
          rps: median(mine.map((r) => r.rps)),
          p99: median(mine.map((r) => r.p99)),
          cpuUsPerReq: median(mine.map((r) => r.cpuUsPerReq)),
          failed: mine.reduce((n, r) => n + r.non2xx + r.errors, 0),
        },
      ];
    }),
  );
  const paired = [];
  for (let r = 1; r <= rounds; r++) {
    const b = rows.find((x) => x.round === r && x.side === 'binary');
    const n = rows.find((x) => x.round === r && x.side === 'node');
    paired.push(ratio(b.rps, n.rps));
  }
  console.log('\necho medians');
  printTable(
    ['side', 'req/s', 'p99', 'cpu us/req', 'failed'],
    ['node', 'binary'].map((s) => [
      s === 'node' ? 'npm start' : 'binary',
      fmtNum(summary[s].rps),
      fmtMs(summary[s].p99),
      fmtNum(summary[s].cpuUsPerReq, 1),
      summary[s].failed,
    ]),
  );
  console.log(`\nbinary/npm start req/s: ${fmtRatio(median(paired))} (median of per-round ratios: ${paired.map(fmtRatio).join(' ')})`);
  const result = {
    config: { runs, rounds, durationS, warmupS, ...load },
    sizeMB,
    startRows,
    startup,
    rounds: rows,
    summary,
    pairedRatios: paired,
    medianPairedRatio: median(paired),
  };
  writeResult('binary', result);
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
