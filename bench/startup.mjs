// Startup bench: a host with 20 CGIs (4 groups x 5, tiny echo-like ones) in a
// temp cgis dir. Measures, per run, the time from spawn to the `listening on`
// line and to all 20 CGIs answering 200 (each polled until it does), and the
// host's RSS right then and a few seconds later. Goal (issue 2): ready in
// under 1 s, under 300 MB.
//
// Beside each host run, in the same run: the floor of the design on this
// machine, a bare node process starting as many *empty* worker threads (no
// code at all) and waiting until each one has run. One isolated thread per
// CGI cannot start faster or smaller than that.
//   node bench/startup.mjs [--runs 3] [--groups 4] [--per-group 5] [--settle 3] [--config FILE]
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startHost, startBareThreads, treeRss, cpuTimeMs } from './lib/servers.mjs';
import { median, fmtNum, fmtMB, printTable, verdict, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';

const GOAL_READY_MS = 1000;
const GOAL_RSS = 300 * 1024 * 1024;
// Issue 18: all answering within 1.5x the floor of as many empty threads (same run), RSS within 1.2x.
const GOAL_READY_RATIO = 1.5;
const GOAL_RSS_RATIO = 1.2;
const GROUPS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const ANSWER_DEADLINE_MS = 20_000;

const OPTIONS = {
  runs: { type: 'string', default: '3' },
  groups: { type: 'string', default: '4' },
  'per-group': { type: 'string', default: '5' },
  settle: { type: 'string', default: '3' },
  config: { type: 'string' },
};

function cgiSource(name) {
  return `import { defineCgi, z } from 'cgihost';

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ text: z.string().max(100) }),
  output: z.object({ echo: z.string(), from: z.string() }),
  handler: (input) => ({ echo: input.text, from: ${JSON.stringify(name)} }),
});
`;
}

/** Writes groups x perGroup CGIs under dir; returns their names. */
export function generateCgis(dir, groups, perGroup) {
  const names = [];
  for (const group of GROUPS.slice(0, groups)) {
    mkdirSync(join(dir, group), { recursive: true });
    for (let i = 1; i <= perGroup; i++) {
      const name = `${group}_echo${i}`;
      writeFileSync(join(dir, group, `${name}.ts`), cgiSource(name));
      names.push(name);
    }
  }
  return names;
}

// Polls one CGI until it answers 200 as itself; resolves to { ms since spawn, tries }.
async function firstAnswer(url, name, spawnedAt) {
  let tries = 0;
  let last = '';
  while (performance.now() - spawnedAt < ANSWER_DEADLINE_MS) {
    tries++;
    try {
      const res = await postJson(`${url}/cgi-bin/${name}`, { text: 'ping' });
      if (res.status === 200 && res.json?.from === name) return { ms: performance.now() - spawnedAt, tries };
      last = `${res.status} ${res.text.slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(10);
  }
  throw new Error(`${name} did not answer within ${ANSWER_DEADLINE_MS} ms (last: ${last})`);
}

// N empty worker threads in a bare node process: spawn -> every thread has run, RSS and CPU then.
async function bareThreads(n) {
  const bare = await startBareThreads(n);
  try {
    return { readyMs: bare.readyMs, rss: treeRss(bare.pid).rss, cpuMs: cpuTimeMs(bare.pid) };
  } finally {
    bare.kill();
  }
}

async function oneRun(cgisDir, names, settleS, configFile) {
  const host = await startHost({ cgisDir, configFile });
  try {
    const answers = await Promise.all(names.map((n) => firstAnswer(host.url, n, host.spawnedAt)));
    const allMs = Math.max(...answers.map((a) => a.ms));
    const atReady = treeRss(host.pid);
    const cpuMs = cpuTimeMs(host.pid);
    await sleep(settleS * 1000);
    const settled = treeRss(host.pid);
    return {
      listeningMs: host.readyMs,
      allAnsweringMs: allMs,
      cpuMs,
      retried: answers.filter((a) => a.tries > 1).length,
      rssReady: atReady.rss,
      treeRssReady: atReady.treeRss,
      rssSettled: settled.rss,
      treeRssSettled: settled.treeRss,
      hwm: settled.hwm,
      exit: await host.stop(),
    };
  } catch (err) {
    await host.stop();
    throw err;
  }
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const runs = boundedNumber(a.runs, 'runs', 1, 20);
  const groups = boundedNumber(a.groups, 'groups', 1, GROUPS.length);
  const perGroup = boundedNumber(a['per-group'], 'per-group', 1, 50);
  const settleS = boundedNumber(a.settle, 'settle', 0, 60);
  const cgisDir = mkdtempSync(join(tmpdir(), 'cgihost-bench-startup-'));
  try {
    const names = generateCgis(cgisDir, groups, perGroup);
    console.log(`# startup: ${names.length} CGIs (${groups} groups x ${perGroup}), ${runs} runs, RSS again after ${settleS} s`);
    const rows = [];
    for (let i = 0; i < runs; i++) {
      const floor = await bareThreads(names.length);
      const r = { ...(await oneRun(cgisDir, names, settleS, a.config)), floor };
      rows.push(r);
      if (r.exit.code !== 0) console.log(`warning: host exited with code ${r.exit.code} signal ${r.exit.signal} on SIGTERM`);
    }
    console.log('');
    printTable(
      [
        'run',
        'listening',
        'all answering',
        'CPU',
        'retried',
        'RSS ready',
        'RSS +settle',
        'tree RSS',
        'peak RSS',
        `${names.length} bare threads`,
        'their RSS',
        'their CPU',
      ],
      rows.map((r, i) => [
        i + 1,
        `${fmtNum(r.listeningMs)} ms`,
        `${fmtNum(r.allAnsweringMs)} ms`,
        `${fmtNum(r.cpuMs)} ms`,
        r.retried,
        fmtMB(r.rssReady),
        fmtMB(r.rssSettled),
        fmtMB(r.treeRssSettled),
        fmtMB(r.hwm),
        `${fmtNum(r.floor.readyMs)} ms`,
        fmtMB(r.floor.rss),
        `${fmtNum(r.floor.cpuMs)} ms`,
      ]),
    );
    const summary = {
      listeningMs: median(rows.map((r) => r.listeningMs)),
      allAnsweringMs: median(rows.map((r) => r.allAnsweringMs)),
      rss: median(rows.map((r) => Math.max(r.rssReady, r.rssSettled))),
      treeRss: median(rows.map((r) => Math.max(r.treeRssReady, r.treeRssSettled))),
      peakRss: median(rows.map((r) => r.hwm)),
      cpuMs: median(rows.map((r) => r.cpuMs)),
      floor: {
        readyMs: median(rows.map((r) => r.floor.readyMs)),
        rss: median(rows.map((r) => r.floor.rss)),
        cpuMs: median(rows.map((r) => r.floor.cpuMs)),
      },
      readyRatio: median(rows.map((r) => r.allAnsweringMs / r.floor.readyMs)),
      rssRatio: median(rows.map((r) => Math.max(r.rssReady, r.rssSettled) / r.floor.rss)),
    };
    const goal = {
      readyMs: GOAL_READY_MS,
      rssBytes: GOAL_RSS,
      readyMet: summary.allAnsweringMs < GOAL_READY_MS,
      rssMet: summary.rss < GOAL_RSS,
      readyRatio: GOAL_READY_RATIO,
      rssRatio: GOAL_RSS_RATIO,
      readyRatioMet: summary.readyRatio <= GOAL_READY_RATIO,
      rssRatioMet: summary.rssRatio <= GOAL_RSS_RATIO,
    };
    console.log(
      `\nmedian: listening ${fmtNum(summary.listeningMs)} ms, all ${names.length} answering ${fmtNum(summary.allAnsweringMs)} ms, ` +
        `RSS ${fmtMB(summary.rss)} (tree ${fmtMB(summary.treeRss)}, peak ${fmtMB(summary.peakRss)})`,
    );
    console.log(
      `floor (${names.length} empty worker threads in a bare node process): ${fmtNum(summary.floor.readyMs)} ms, ` +
        `${fmtMB(summary.floor.rss)}, CPU ${fmtNum(summary.floor.cpuMs)} ms; host/floor: time ${summary.readyRatio.toFixed(2)}x, RSS ${summary.rssRatio.toFixed(2)}x`,
    );
    console.log(`goal all answering < ${GOAL_READY_MS} ms: ${verdict(goal.readyMet)}; RSS < ${fmtMB(GOAL_RSS)}: ${verdict(goal.rssMet)}`);
    console.log(
      `goal host/floor time <= ${GOAL_READY_RATIO}x: ${verdict(goal.readyRatioMet)}; RSS <= ${GOAL_RSS_RATIO}x: ${verdict(goal.rssRatioMet)}`,
    );
    const out = {
      config: { runs, groups, perGroup, cgis: names.length, settleS, configFile: a.config ?? null },
      runs: rows,
      summary,
      goal,
    };
    writeResult('startup', out);
    return out;
  } finally {
    rmSync(cgisDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
