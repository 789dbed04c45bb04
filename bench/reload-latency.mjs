// Save → serving (issue 3): how long from writing a new version of a CGI file
// until a request is answered by it. 30 times: write the file (a new revision,
// so new code and a new x-cgi-version), then poll the CGI in a tight loop
// (one request, ~2 ms pause, again) until an answer carries the new revision
// in its body and a new x-cgi-version. The host is otherwise idle. The figure
// includes the watcher's debounce (watchDebounceMs, default 40 ms), the
// esbuild compile, the fresh worker's start and load check, and the swap.
// Goal: p50 < 300 ms.
//   node bench/reload-latency.mjs [--runs 30] [--pause 300] [--poll 2] [--config FILE]
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startHost } from './lib/servers.mjs';
import { median, percentile, mean, fmtNum, fmtMs, verdict, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';

const GOAL_P50_MS = 300;
const DEADLINE_MS = 10_000;

const OPTIONS = {
  runs: { type: 'string', default: '30' },
  pause: { type: 'string', default: '300' },
  poll: { type: 'string', default: '2' },
  config: { type: 'string' },
};

function source(rev) {
  return `import { defineCgi, z } from 'cgihost';

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({}),
  output: z.object({ rev: z.number() }),
  handler: () => ({ rev: ${rev} }),
});
`;
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const runs = boundedNumber(a.runs, 'runs', 1, 500);
  const pauseMs = boundedNumber(a.pause, 'pause', 0, 10_000);
  const pollMs = boundedNumber(a.poll, 'poll', 0, 100);

  const cgisDir = mkdtempSync(join(tmpdir(), 'cgihost-bench-reload-'));
  mkdirSync(join(cgisDir, 'demo'));
  const file = join(cgisDir, 'demo', 'rev.ts');
  writeFileSync(file, source(0));
  console.log(`# reload-latency: ${runs} saves, each polled every ~${pollMs} ms until the new version serves; ${pauseMs} ms between saves`);

  const host = await startHost({ cgisDir, configFile: a.config });
  const url = `${host.url}/cgi-bin/rev`;
  try {
    console.log(`host: ${host.url} (pid ${host.pid}, ready in ${fmtNum(host.readyMs)} ms)`);
    let r = await postJson(url, {});
    if (r.status !== 200 || r.json?.rev !== 0) throw new Error(`the CGI does not answer: ${r.status} ${r.text.slice(0, 300)}`);
    let version = r.headers.get('x-cgi-version');

    const rows = [];
    for (let rev = 1; rev <= runs; rev++) {
      await sleep(pauseMs);
      const wroteAt = performance.now();
      writeFileSync(file, source(rev));
      let polls = 0;
      let failures = 0;
      let ms = NaN;
      while (performance.now() - wroteAt < DEADLINE_MS) {
        polls++;
        try {
          r = await postJson(url, {});
          if (r.status !== 200) failures++;
          else if (r.json?.rev === rev) {
            ms = performance.now() - wroteAt;
            const v = r.headers.get('x-cgi-version');
            if (v === version) throw new Error(`rev ${rev} served with the previous x-cgi-version ${v}`);
            version = v;
            break;
          }
        } catch (err) {
          if (err.message.startsWith('rev ')) throw err;
          failures++;
        }
        if (pollMs > 0) await sleep(pollMs);
      }
      rows.push({ rev, ms, polls, failures });
      if (!Number.isFinite(ms)) console.log(`save ${rev}: not serving after ${DEADLINE_MS} ms`);
    }

    const ms = rows.map((x) => x.ms);
    const summary = {
      p50: median(ms),
      p90: percentile(ms, 90),
      p99: percentile(ms, 99),
      min: Math.min(...ms.filter(Number.isFinite)),
      max: Math.max(...ms.filter(Number.isFinite)),
      mean: mean(ms),
      missed: ms.filter((x) => !Number.isFinite(x)).length,
      failedPolls: rows.reduce((s, x) => s + x.failures, 0),
      over1s: ms.filter((x) => !(x < 1000)).length,
    };
    console.log(
      `\nsave → serving over ${runs} saves: p50 ${fmtMs(summary.p50)}  p90 ${fmtMs(summary.p90)}  p99 ${fmtMs(summary.p99)}  ` +
        `min ${fmtMs(summary.min)}  max ${fmtMs(summary.max)}`,
    );
    console.log(`all samples (ms): ${ms.map((x) => fmtNum(x)).join(' ')}`);
    console.log(`over 1 s (SPEC §5 bound): ${summary.over1s}; never served: ${summary.missed}; failed polls: ${summary.failedPolls}`);
    const goal = { p50Ms: GOAL_P50_MS, met: summary.p50 < GOAL_P50_MS && summary.missed === 0 && summary.failedPolls === 0 };
    console.log(`goal p50 < ${GOAL_P50_MS} ms: ${verdict(goal.met)}`);
    const out = { config: { runs, pauseMs, pollMs, configFile: a.config ?? null }, saves: rows, summary, goal };
    writeResult('reload-latency', out);
    return out;
  } finally {
    const { code, killed } = await host.stop();
    if (code !== 0 || killed) console.log(`warning: host stopped with code ${code}${killed ? ' (SIGKILLed)' : ''}`);
    rmSync(cgisDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
