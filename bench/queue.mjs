// The queue of the CGI platform (issue 17 Speed), through a real host with
// its default config (synchronous=FULL):
//  (a) throughput: `--jobs` (100,000) jobs wait in topic bench.noop (sent
//      1,000 per atomic write); then a no-op consumer (concurrency 256) is
//      dropped into the cgis folder, and the bench times from its load to the
//      topic's depth reaching 0, by polling /_host/api/queue;
//  (b) latency on an idle host: `--pings` jobs sent one at a time, each stamped
//      just before ctx.queue.send(), the consumer noting its start; send ->
//      consumer start p50 and p99;
//  raw better-sqlite3 in the same run for comparison: the same number of
//      job rows inserted and deleted, 256 per transaction, synchronous=FULL.
// Goals: >= 20,000 jobs/s through the no-op consumer; send -> start p99 < 20 ms.
//   node bench/queue.mjs [--jobs 100000] [--pings 300]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { startHost, stopServers, cpuTimeMs, ROOT } from './lib/servers.mjs';
import { percentile, median, fmtNum, fmtMs, verdict, boundedNumber, ratio, fmtRatio } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';

const GOAL_RATE = 20_000;
const GOAL_P99_MS = 20;

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({
    args: argv,
    options: { jobs: { type: 'string', default: '100000' }, pings: { type: 'string', default: '300' } },
    strict: false,
  });
  const jobs = boundedNumber(a.jobs, 'jobs', 1_000, 10_000_000);
  const pings = boundedNumber(a.pings, 'pings', 10, 100_000);
  const cgisDir = mkdtempSync(join(tmpdir(), 'cgihost-bench-queue-'));
  cpSync(join(ROOT, 'bench', 'fixtures', 'queue-cgis'), cgisDir, { recursive: true });
  console.log(`# queue: ${fmtNum(jobs)} jobs through a no-op consumer; send -> consumer start over ${pings} jobs on an idle host`);
  const servers = {};
  const out = { config: { jobs, pings } };
  try {
    servers.host = await startHost({ cgisDir });
    const url = servers.host.url;
    console.log(`host: ${url} (pid ${servers.host.pid})`);

    // (b) first, on an idle host.
    for (let seq = 0; seq < pings; seq++) {
      const res = await postJson(`${url}/cgi-bin/ping`, { seq });
      if (res.status !== 200) throw new Error(`ping answered ${res.status}: ${res.text.slice(0, 200)}`);
      await sleep(5);
    }
    const ms = await waitForLatencies(url, pings);
    out.latency = {
      n: ms.length,
      p50: percentile(ms, 50),
      p99: percentile(ms, 99),
      max: Math.max(...ms),
      met: percentile(ms, 99) < GOAL_P99_MS,
    };
    console.log(
      `send -> consumer start: p50 ${fmtMs(out.latency.p50)}, p99 ${fmtMs(out.latency.p99)}, max ${fmtMs(out.latency.max)} (${ms.length} jobs)`,
    );
    console.log(`goal p99 < ${GOAL_P99_MS} ms: ${verdict(out.latency.met)}`);

    // (a) fill, then drain.
    const t0 = performance.now();
    const calls = Math.ceil(jobs / 1000);
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let c = w; c < calls; c += 4) {
          const res = await postJson(
            `${url}/cgi-bin/fill`,
            { topic: 'bench.noop', n: Math.min(1000, jobs - c * 1000) },
            { timeoutMs: 30_000 },
          );
          if (res.status !== 200) throw new Error(`fill answered ${res.status}: ${res.text.slice(0, 200)}`);
        }
      }),
    );
    const fillS = (performance.now() - t0) / 1000;
    console.log(`filled ${fmtNum(jobs)} jobs in ${fillS.toFixed(2)} s (${fmtNum(jobs / fillS)} sends/s, 1,000 per atomic write)`);
    if ((await depth(url)) !== jobs) throw new Error(`expected ${jobs} waiting, found ${await depth(url)}`);
    const cpu0 = cpuTimeMs(servers.host.pid);
    cpSync(join(ROOT, 'bench', 'fixtures', 'queue-consumer'), cgisDir, { recursive: true });
    let started = null;
    let last = jobs;
    for (;;) {
      // Not too often: each look counts the topic's pending jobs in the store.
      await sleep(100);
      const d = await depth(url);
      // The clock starts when the first job has gone (the consumer loaded).
      if (started === null && d < jobs) started = performance.now();
      if (d === 0) break;
      if (started !== null && d === last && performance.now() - started > 60_000) throw new Error(`stuck at depth ${d}`);
      last = d;
    }
    const drainS = (performance.now() - started) / 1000;
    const cpuS = (cpuTimeMs(servers.host.pid) - cpu0) / 1000;
    out.throughput = { jobs, seconds: drainS, jobsPerS: jobs / drainS, cpuUsPerJob: (cpuS * 1e6) / jobs, met: jobs / drainS >= GOAL_RATE };
    console.log(
      `drained ${fmtNum(jobs)} jobs in ${drainS.toFixed(2)} s: ${fmtNum(out.throughput.jobsPerS)} jobs/s, ` +
        `host CPU ${fmtNum(out.throughput.cpuUsPerJob, 1)} us/job`,
    );
    console.log(`goal >= ${fmtNum(GOAL_RATE)} jobs/s: ${verdict(out.throughput.met)}`);
  } finally {
    await stopServers(servers);
    rmSync(cgisDir, { recursive: true, force: true });
  }
  out.raw = rawJobs(Math.min(jobs, 100_000));
  console.log(
    `raw better-sqlite3 (insert + delete, 256 per transaction, FULL): ${fmtNum(out.raw.jobsPerS)} jobs/s; ` +
      `host/raw ${fmtRatio(ratio(out.throughput.jobsPerS, out.raw.jobsPerS))}`,
  );
  writeResult('queue', out);
  return out;
}

async function depth(url) {
  const res = await fetch(`${url}/_host/api/queue`);
  const t = (await res.json()).topics.find((x) => x.topic === 'bench.noop');
  // Jobs handed out stay pending (in depth) until their outcome commits.
  return t ? t.depth : 0;
}

async function waitForLatencies(url, n) {
  for (let tries = 0; tries < 200; tries++) {
    const ms = [];
    let cursor;
    do {
      const res = await postJson(`${url}/cgi-bin/lats`, { cursor });
      ms.push(...res.json.ms);
      cursor = res.json.cursor;
    } while (cursor);
    if (ms.length >= n) return ms;
    await sleep(50);
  }
  throw new Error('the latency jobs did not all run');
}

/** The store's floor: job rows inserted then deleted by a raw connection, 256 per transaction, synchronous=FULL. */
function rawJobs(n) {
  const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-rawq-'));
  try {
    const db = new Database(join(dir, 'raw.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, topic TEXT, key TEXT, payload TEXT, state TEXT, attempts INTEGER,
      next_run_at INTEGER, created_at INTEGER, updated_at INTEGER);
      CREATE INDEX jobs_next ON jobs(topic, next_run_at, id) WHERE state = 'pending';`);
    const ins = db.prepare(`INSERT INTO jobs VALUES (?, 'bench.noop', '', '{"i":1}', 'pending', 0, ?, ?, ?)`);
    const del = db.prepare('DELETE FROM jobs WHERE id = ?');
    const batch = (f, from, to) =>
      db.transaction(() => {
        for (let i = from; i < to; i++) f(i);
      })();
    const t0 = performance.now();
    for (let i = 0; i < n; i += 256) batch((id) => ins.run(id, 1, 1, 1), i, Math.min(n, i + 256));
    for (let i = 0; i < n; i += 256) batch((id) => del.run(id), i, Math.min(n, i + 256));
    const s = (performance.now() - t0) / 1000;
    db.close();
    return { jobs: n, seconds: s, jobsPerS: n / s };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
