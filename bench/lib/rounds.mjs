// The alternating rounds of a load bench: a warm-up per side, then rounds in
// ABBA order (A B, B A, ...) with a short pause before each run, each run
// measured for the server's own CPU time (far steadier than req/s on a shared
// machine). Every bench that compares sides under load runs through this.
import { cpuTimeMs, mainThreadCpuTimeMs } from './servers.mjs';
import { fmtNum, fmtMs, boundedNumber } from './stats.mjs';
import { pickTool } from './load.mjs';
import { sleep } from './client.mjs';

/**
 * load(side, seconds) runs the load generator against one side and resolves to
 * its result ({requests, durationS, rps, p50, p99, non2xx, errors});
 * pidOf(side) is the server process to charge CPU to. Resolves to one row per
 * round and side: {round, side, ...result, cpuUsPerReq, mainCpuUsPerReq, cpuCores}
 * (mainCpuUsPerReq: the server's main thread alone).
 */
export async function runRounds({ sides, rounds, durationS, warmupS, pidOf, load }) {
  const run = async (side, s) => {
    const cpu0 = cpuTimeMs(pidOf(side));
    const main0 = mainThreadCpuTimeMs(pidOf(side));
    const res = await load(side, s);
    const cpuMs = cpuTimeMs(pidOf(side)) - cpu0;
    const mainMs = mainThreadCpuTimeMs(pidOf(side)) - main0;
    return {
      ...res,
      cpuUsPerReq: (cpuMs * 1000) / res.requests,
      mainCpuUsPerReq: (mainMs * 1000) / res.requests,
      cpuCores: cpuMs / 1000 / res.durationS,
    };
  };
  if (warmupS > 0) for (const side of sides) await run(side, warmupS);
  const width = Math.max(...sides.map((s) => s.length));
  const rows = [];
  for (let r = 1; r <= rounds; r++) {
    for (const side of r % 2 === 1 ? sides : [...sides].reverse()) {
      await sleep(300);
      const res = await run(side, durationS);
      rows.push({ round: r, side, ...res });
      console.log(
        `round ${r} ${side.padEnd(width)} ${fmtNum(res.rps).padStart(8)} req/s  p50 ${fmtMs(res.p50)}  p99 ${fmtMs(res.p99)}  ` +
          `cpu ${fmtNum(res.cpuUsPerReq, 1)} us/req (main thread ${fmtNum(res.mainCpuUsPerReq, 1)}; ${fmtNum(res.cpuCores, 2)} cores)` +
          (res.non2xx || res.errors ? `  non2xx ${res.non2xx} errors ${res.errors}` : ''),
      );
    }
  }
  return rows;
}

/** The command-line options of every runRounds bench; `rounds` is the bench's own default. */
export function roundOptions(rounds) {
  return {
    rounds: { type: 'string', default: String(rounds) },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1' },
    tool: { type: 'string', default: process.env.BENCH_TOOL || 'auto' },
  };
}

/** Those options, checked: {rounds, durationS, warmupS, load: {connections, threads, tool}}. */
export function parseRoundOptions(a) {
  return {
    rounds: boundedNumber(a.rounds, 'rounds', 1, 50),
    durationS: boundedNumber(a.duration, 'duration', 1, 120),
    warmupS: boundedNumber(a.warmup, 'warmup', 0, 60),
    load: {
      connections: boundedNumber(a.connections, 'connections', 1, 10_000),
      threads: boundedNumber(a.threads, 'threads', 1, 16),
      tool: pickTool(a.tool),
    },
  };
}
