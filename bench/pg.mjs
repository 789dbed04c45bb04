// The PostgreSQL engine against issue 20's goals, each side in the same run:
//  1. sendmsg through one host on PostgreSQL (synchronous_commit on) vs the
//     same host on SQLite (synchronous=FULL): the load of bench/sendmsg.mjs
//     (`--pairs` disjoint sender -> recipient pairs, a fresh clientMsgId per
//     request). Goal: pg/sqlite req/s >= 0.5.
//  2. Two hosts on that one database ("pg2") vs one of them alone ("pg"): the
//     same connections, split evenly over two load generators running at once,
//     one per host, each with half the pairs (disjoint, so no inbox row is
//     written through both hosts); the pair's req/s is the sum. Goal >= 1.6x.
//     Printed with it: the CPU per request of each host process and of all
//     PostgreSQL processes, and the cores each used: on 2 cores two hosts,
//     PostgreSQL and the load generator compete for them. Beside it, after the
//     rounds: two bare node:http echo servers against one under the same split
//     of connections (what a second process gives on this machine at all).
//  The three sides alternate (ABC CBA ...); the ratios are medians of
//  per-round ratios. Afterwards every inbox is read (through host B for
//  PostgreSQL: entries written through A are read through B) and checked as
//  sendmsg.mjs does: entries between the 200s seen and those plus the sends
//  cut off at the load generator's stops, seqs dense, clientMsgIds unique.
//  3. Cross-host wake-up on an idle pair: a sync held on host B (timeoutMs
//     10000), then a send through host A; the time from the send's start to B's
//     answer carrying it, `--samples` times; beside it, in the same loop, the
//     same on one PostgreSQL host and on the SQLite host, and the floor: one
//     round trip to a bare node:http echo after the same idle wait. The client
//     is node:http over kept-alive connections (fetch's own share of an idle
//     round trip is ~1 ms more at the median here). Goal: p99 < 20 ms.
// PostgreSQL: `--pg-url URL` or CGIHOST_BENCH_PG_URL (a superuser: the bench
// creates its own database and drops it), else a throwaway cluster of the
// installed binaries (bench/lib/postgres.mjs), stopped at the end.
// `--dry-run` runs every part with SQLite hosts in place of the PostgreSQL
// ones (host B is host A): the bench's own mechanics, for a build without the
// PostgreSQL engine; its figures say nothing about PostgreSQL.
//   node bench/pg.mjs [--rounds 6] [--duration 3] [--warmup 3] [--connections 50] [--pairs 8]
//                     [--samples 200] [--hold-ms 200] [--only throughput,wake] [--pg-url URL] [--dry-run]
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startHost, startBaseline, stopServers, cpuTimeMs, mainThreadCpuTimeMs, ROOT } from './lib/servers.mjs';
import { runLoad } from './lib/load.mjs';
import { roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import {
  median,
  percentile,
  ratio,
  fmtNum,
  fmtMs,
  fmtRatio,
  boundedNumber,
  summariseRounds,
  pairedRatios,
  printTable,
} from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';
import { makeUsers, sendText, sync, syncAll, denseProblem, scrapeMetrics, metricSum, runRotatingLoad } from './lib/users.mjs';
import {
  startCluster,
  freshDatabase,
  serverSettings,
  postmasterPid,
  resetStatements,
  topStatements,
  postgresCpuTimeMs,
} from './lib/postgres.mjs';

const GOALS = { pgOverSqlite: 0.5, twoOverOne: 1.6, wakeP99Ms: 20 };
const CONTENT = 'hello from the pg bench';
// The CGIs the bench calls, for every host alike: three hosts with every CGI of the project would be ~90 threads.
const CGI_GROUPS = ['_shared', 'account', 'msgsend', 'msgsync'];
const SIDES = ['sqlite', 'pg', 'pg2'];

const OPTIONS = {
  ...roundOptions(6),
  pairs: { type: 'string', default: '8' },
  samples: { type: 'string', default: '200' },
  'hold-ms': { type: 'string', default: '200' },
  only: { type: 'string', default: 'throughput,wake' },
  'pg-url': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  const pairs = boundedNumber(a.pairs, 'pairs', 2, 200);
  const samples = boundedNumber(a.samples, 'samples', 1, 10_000);
  const holdMs = boundedNumber(a['hold-ms'], 'hold-ms', 0, 5_000);
  const parts = new Set(String(a.only).split(','));
  const dryRun = Boolean(a['dry-run']);
  if (load.connections < 2) throw new Error('--connections must be at least 2 (split over two hosts)');

  console.log(
    '# pg: sendmsg and cross-host wake-up on PostgreSQL vs SQLite, one host vs two' +
      (dryRun ? ' (DRY RUN: SQLite in place of PostgreSQL)' : ''),
  );
  console.log(
    `${load.tool}, ${load.connections} connections (pg2: ${Math.ceil(load.connections / 2)} + ${Math.floor(load.connections / 2)}), ` +
      `${pairs} pairs, ${rounds} rounds x ${durationS} s per side, warm-up ${warmupS} s; wake-up: ${samples} samples, sync held ${holdMs} ms before each send`,
  );

  const tmp = mkdtempSync(join(tmpdir(), 'cgihost-bench-pg-'));
  const servers = {};
  let cluster;
  let db;
  try {
    // PostgreSQL: given, or a throwaway cluster.
    let adminUrl = a['pg-url'] ?? process.env.CGIHOST_BENCH_PG_URL;
    if (!adminUrl) {
      cluster = await startCluster();
      if (cluster) adminUrl = cluster.url;
      else if (!dryRun) throw new Error('no PostgreSQL: give --pg-url or CGIHOST_BENCH_PG_URL, or install it (apt-get install postgresql)');
    }
    let pg = null;
    if (adminUrl) {
      db = await freshDatabase(adminUrl);
      pg = { settings: await serverSettings(db.url), pid: await postmasterPid(db.url), own: Boolean(cluster) };
      console.log(
        `PostgreSQL ${pg.settings.server_version} (${cluster ? 'throwaway cluster' : 'given server'}; database ${db.name}): ` +
          `synchronous_commit=${pg.settings.synchronous_commit}, fsync=${pg.settings.fsync}, wal_sync_method=${pg.settings.wal_sync_method}; ` +
          (pg.pid ? `postmaster pid ${pg.pid}` : 'its processes are not on this machine or not readable: no PostgreSQL CPU figures'),
      );
      if (!dryRun && (pg.settings.synchronous_commit !== 'on' || pg.settings.fsync !== 'on'))
        console.log('warning: the server is not durable as production is (synchronous_commit and fsync should be on)');
    }

    const cgisDir = join(tmp, 'cgis');
    for (const g of CGI_GROUPS) cpSync(join(ROOT, 'cgis', g), join(cgisDir, g), { recursive: true });
    const mediaDir = join(tmp, 'media');
    mkdirSync(mediaDir);
    const sqliteConfig = join(tmp, 'sqlite.config.json');
    writeFileSync(sqliteConfig, JSON.stringify({ store: { synchronous: 'FULL' } }) + '\n');
    const pgConfig = join(tmp, 'pg.config.json');
    writeFileSync(pgConfig, JSON.stringify(db ? { store: { engine: 'postgres', url: db.url }, mediaDir } : {}) + '\n');

    servers.sqlite = await startHost({ cgisDir, configFile: sqliteConfig });
    const startPg = async (name) => {
      try {
        return await startHost({ cgisDir, configFile: pgConfig });
      } catch (err) {
        err.message =
          `${name} on PostgreSQL did not start: does this build (dist/) have the PostgreSQL engine? ` +
          `(--dry-run runs the bench on SQLite hosts)\n${err.message}`;
        throw err;
      }
    };
    servers.A = dryRun ? await startHost({ cgisDir, configFile: sqliteConfig }) : await startPg('host A');
    // Started one after the other: the second finds the schema made.
    if (!dryRun) servers.B = await startPg('host B');
    const hostA = servers.A;
    const hostB = servers.B ?? servers.A;
    for (const [name, s] of Object.entries(servers)) console.log(`${name}: ${s.url} (pid ${s.pid}, ready in ${fmtNum(s.readyMs)} ms)`);

    const out = {
      dryRun,
      config: { rounds, durationS, warmupS, pairs, ...load, samples, holdMs, cgis: CGI_GROUPS },
      postgres: pg && { ...pg.settings, ownCluster: pg.own, cpuMeasured: Boolean(pg.pid) },
    };
    if (parts.has('throughput'))
      out.throughput = await throughput({
        servers,
        hostA,
        hostB,
        pgPid: pg?.pid,
        dbUrl: dryRun ? undefined : db?.url,
        rounds,
        durationS,
        warmupS,
        pairs,
        load,
      });
    if (parts.has('throughput')) out.bare = await secondProcess({ servers, rounds, durationS, warmupS, load });
    if (parts.has('wake')) out.wake = await wakeUp({ servers, sqlite: servers.sqlite, hostA, hostB, samples, holdMs });
    report(out);
    // Non-default loads and partial runs get their own file, so the default run stays the headline.
    const suffix =
      (pairs !== 8 ? `-p${pairs}` : '') +
      (load.connections !== 50 ? `-c${load.connections}` : '') +
      (parts.has('throughput') && parts.has('wake') ? '' : `-${[...parts].join('-')}`);
    writeResult(`pg${suffix}${dryRun ? '-dry-run' : ''}`, out);
    return out;
  } finally {
    await stopServers(servers);
    if (db) await db.drop().catch((err) => console.log(`warning: dropping ${db.name}: ${err.message}`));
    cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// 1 and 2: sendmsg throughput, three sides in alternating rounds.

async function throughput({ servers, hostA, hostB, pgPid, dbUrl, rounds, durationS, warmupS, pairs, load }) {
  // Users over HTTP: on SQLite, and once for PostgreSQL through host A (host B knows them: one database).
  const people = {};
  for (const [db, host] of [
    ['sqlite', servers.sqlite],
    ['pg', hostA],
  ]) {
    const senders = await makeUsers(host.url, { prefix: 'snd', count: pairs, concurrency: 8 });
    const recipients = await makeUsers(host.url, { prefix: 'rcp', count: pairs, concurrency: 8 });
    console.log(`${db}: ${2 * pairs} users registered and logged in over HTTP in ${fmtNum(senders.ms + recipients.ms)} ms`);
    people[db] = { senders, recipients };
  }
  // Sanity, as SPEC §4 says: one send per host (through B with users made through A), seq 1 of a fresh inbox.
  const seen200 = { sqlite: 0, pg: 0 };
  for (const [db, host, i] of [
    ['sqlite', servers.sqlite, 0],
    ['pg', hostA, 0],
    ['pg', hostB, 1],
  ]) {
    const { senders, recipients } = people[db];
    const r = await sendText(host.url, senders[i].token, { to: recipients[i].uid, content: CONTENT, clientMsgId: `sanity-${i}` });
    if (r.status !== 200 || typeof r.json?.msgId !== 'string' || r.json.seq !== 1)
      throw new Error(`${db} sanity sendmsg through ${host.url}: ${r.status} ${r.text.slice(0, 300)}`);
    seen200[db]++;
  }

  const variants = (db, pick) =>
    people[db].senders
      .map((s, i) => ({
        i,
        headers: { authorization: `Bearer ${s.token}` },
        bodyTemplate: JSON.stringify({ to: people[db].recipients[i].uid, type: 'text', content: CONTENT, clientMsgId: '{{id}}' }),
      }))
      .filter(({ i }) => pick(i));
  const url = (host) => `${host.url}/cgi-bin/sendmsg`;
  const C = load.connections;
  // Each side: load generators run at once, { host, variants, connections } each.
  const gens = {
    sqlite: [{ host: servers.sqlite, variants: variants('sqlite', () => true), connections: C }],
    pg: [{ host: hostA, variants: variants('pg', () => true), connections: C }],
    pg2: [
      { host: hostA, variants: variants('pg', (i) => i % 2 === 0), connections: Math.ceil(C / 2) },
      { host: hostB, variants: variants('pg', (i) => i % 2 === 1), connections: Math.floor(C / 2) },
    ],
  };
  const dbOf = { sqlite: 'sqlite', pg: 'pg', pg2: 'pg' };
  const hostsOf = { sqlite: ['sqlite'], pg: ['A'], pg2: hostA === hostB ? ['A'] : ['A', 'B'] };
  // A side's server: its host(s), and PostgreSQL for the PostgreSQL sides (the other processes idle meanwhile).
  const serverOf = Object.fromEntries(SIDES.map((s) => [s, [...hostsOf[s], ...(s !== 'sqlite' && pgPid ? ['postgres'] : [])]]));
  // Every process whose CPU is charged: the hosts, and PostgreSQL's (postmaster and all its children).
  const procs = {
    sqlite: servers.sqlite.pid,
    A: hostA.pid,
    ...(hostB !== hostA ? { B: hostB.pid } : {}),
    ...(pgPid ? { postgres: pgPid } : {}),
  };
  const loads = { sqlite: 0, pg: 0 };

  const run = async (side, s) => {
    const cpuOf = (n, pid) => (n === 'postgres' ? postgresCpuTimeMs(pid) : cpuTimeMs(pid));
    const before = Object.fromEntries(Object.entries(procs).map(([n, pid]) => [n, [cpuOf(n, pid), mainThreadCpuTimeMs(pid)]]));
    const res = await Promise.all(
      gens[side].map((g) => runRotatingLoad({ url: url(g.host), variants: g.variants, durationS: s, ...load, connections: g.connections })),
    );
    const cpuMs = {};
    const mainMs = {};
    for (const [n, pid] of Object.entries(procs)) {
      cpuMs[n] = cpuOf(n, pid) - before[n][0];
      mainMs[n] = mainThreadCpuTimeMs(pid) - before[n][1];
    }
    const requests = res.reduce((x, r) => x + r.requests, 0);
    const secs = Math.max(...res.map((r) => r.durationS));
    const non2xx = res.reduce((x, r) => x + r.non2xx, 0);
    seen200[dbOf[side]] += requests - non2xx; // wrk: statuses >= 400 only; sendmsg answers 200 or an error
    loads[dbOf[side]]++;
    const hostCpu = hostsOf[side].reduce((x, n) => x + cpuMs[n], 0);
    const hostMain = hostsOf[side].reduce((x, n) => x + mainMs[n], 0);
    return {
      tool: res[0].tool,
      requests,
      durationS: secs,
      rps: res.reduce((x, r) => x + r.rps, 0), // the pair's throughput: the sum of both generators'
      perGenerator: res.map((r) => r.rps),
      p50: Math.max(...res.map((r) => r.p50)),
      p90: Math.max(...res.map((r) => r.p90)),
      p99: Math.max(...res.map((r) => r.p99)),
      max: Math.max(...res.map((r) => r.max)),
      non2xx,
      errors: res.reduce((x, r) => x + r.errors, 0),
      // The side's own host process(es), as every round bench prints them.
      cpuUsPerReq: (hostCpu * 1000) / requests,
      mainCpuUsPerReq: (hostMain * 1000) / requests,
      cpuCores: hostCpu / 1000 / secs,
      // Every measured process, per request of this run and in cores.
      cpuBy: Object.fromEntries(Object.entries(cpuMs).map(([n, ms]) => [n, (ms * 1000) / requests])),
      coresBy: Object.fromEntries(Object.entries(cpuMs).map(([n, ms]) => [n, ms / 1000 / secs])),
    };
  };

  // What PostgreSQL runs for the load (warm-up and rounds of pg and pg2), when the server has pg_stat_statements.
  const statements = dbUrl ? await resetStatements(dbUrl) : false;
  const fmtBy = (by, decimals) =>
    Object.entries(by)
      .map(([n, v]) => `${n} ${fmtNum(v, decimals)}`)
      .join(', ');
  for (const side of SIDES) if (warmupS > 0) await run(side, warmupS);
  const rows = [];
  for (let r = 1; r <= rounds; r++) {
    for (const side of r % 2 === 1 ? SIDES : [...SIDES].reverse()) {
      await sleep(300);
      const res = await run(side, durationS);
      rows.push({ round: r, side, ...res });
      console.log(
        `round ${r} ${side.padEnd(6)} ${fmtNum(res.rps).padStart(7)} req/s` +
          (res.perGenerator.length > 1 ? ` (${res.perGenerator.map((x) => fmtNum(x)).join(' + ')})` : '') +
          `  p99 ${fmtMs(res.p99)}  cpu us/req: ${fmtBy(res.cpuBy, 1)}; cores: ${fmtBy(res.coresBy, 2)}` +
          (res.non2xx || res.errors ? `  non2xx ${res.non2xx} errors ${res.errors}` : ''),
      );
    }
  }
  const summary = summariseRounds(rows, SIDES);
  for (const side of SIDES) {
    const mine = rows.filter((r) => r.side === side);
    summary[side].cpuBy = Object.fromEntries(Object.keys(procs).map((n) => [n, median(mine.map((r) => r.cpuBy[n]))]));
    summary[side].coresBy = Object.fromEntries(Object.keys(procs).map((n) => [n, median(mine.map((r) => r.coresBy[n]))]));
  }
  console.log(
    "\nserver CPU per request (us, medians) and cores used by every process during each side's runs; " +
      "the side's own sum: its host(s), with PostgreSQL for pg and pg2 (the others are idle meanwhile)",
  );
  const names = Object.keys(procs);
  printTable(
    ['side', ...names.map((n) => `${n} us/req`), 'side us/req', ...names.map((n) => `${n} cores`), 'side cores'],
    SIDES.map((s) => {
      const by = summary[s].cpuBy;
      const cores = summary[s].coresBy;
      return [
        s,
        ...names.map((n) => fmtNum(by[n], 1)),
        fmtNum(
          serverOf[s].reduce((x, n) => x + by[n], 0),
          1,
        ),
        ...names.map((n) => fmtNum(cores[n], 2)),
        fmtNum(
          serverOf[s].reduce((x, n) => x + cores[n], 0),
          2,
        ),
      ];
    }),
  );

  const checks = {
    sqlite: await verify('sqlite', servers.sqlite, [servers.sqlite], people.sqlite, seen200.sqlite, loads.sqlite * C),
    // Read through B: entries written through A must be there too.
    pg: await verify('pg', hostB, hostA === hostB ? [hostA] : [hostA, hostB], people.pg, seen200.pg, loads.pg * C),
  };
  let top = null;
  if (statements) {
    // Per sendmsg the hosts answered (or cut off), setup sends and sync reads included: statements in PostgreSQL's words.
    top = (await topStatements(dbUrl)).map((r) => ({ ...r, perSend: r.calls / (checks.pg.hostOk + checks.pg.hostClientClosed) }));
    console.log('\nPostgreSQL statements of the load and the check, most time first (pg_stat_statements; calls per sendmsg)');
    printTable(
      ['calls/send', 'calls', 'total ms', 'ms/call', 'statement'],
      top.map((r) => [fmtNum(r.perSend, 2), fmtNum(r.calls), fmtNum(r.totalMs), fmtNum(r.totalMs / r.calls, 3), r.query]),
    );
  }
  const pgOverSqlite = pairedRatios(rows, 'pg', 'sqlite');
  const twoOverOne = pairedRatios(rows, 'pg2', 'pg');
  return {
    rounds: rows,
    summary,
    serverOf,
    checks,
    statements: top,
    ratios: {
      pgOverSqlite: { medianPaired: median(pgOverSqlite), paired: pgOverSqlite, ofMedians: ratio(summary.pg.rps, summary.sqlite.rps) },
      twoOverOne: { medianPaired: median(twoOverOne), paired: twoOverOne, ofMedians: ratio(summary.pg2.rps, summary.pg.rps) },
    },
  };
}

/**
 * Every pair's inboxes read through `readHost` in one pass, checked against
 * what the hosts of that database counted and the client saw (as sendmsg.mjs's
 * verify): OK <= entries <= OK + CLIENT_CLOSED, between the 200s seen and those
 * plus what was in flight at the generator's stops; seqs dense, clientMsgIds
 * unique, as many entries on each side of a pair.
 */
async function verify(label, readHost, hosts, { senders, recipients }, seen200, inFlightSlack) {
  const t0 = performance.now();
  let hostOk = 0;
  let hostAll = 0;
  let hostClosed = 0;
  for (const h of hosts) {
    const m = await scrapeMetrics(h.url);
    hostOk += metricSum(m, 'cgihost_requests_total', { cgi: 'sendmsg', code: 'OK' });
    hostAll += metricSum(m, 'cgihost_requests_total', { cgi: 'sendmsg' });
    hostClosed += metricSum(m, 'cgihost_requests_total', { cgi: 'sendmsg', code: 'CLIENT_CLOSED' });
  }
  const problems = [];
  let entries = 0;
  for (let i = 0; i < recipients.length; i++) {
    const inbox = await syncAll(readHost.url, recipients[i].token);
    entries += inbox.messages.length;
    const gap = denseProblem(inbox.messages);
    if (gap) problems.push(`recipient ${i}: ${gap}`);
    if (inbox.messages.some((m) => m.from !== senders[i].uid || m.to !== recipients[i].uid))
      problems.push(`recipient ${i}: an entry from someone else`);
    const own = await syncAll(readHost.url, senders[i].token);
    if (own.messages.length !== inbox.messages.length)
      problems.push(`pair ${i}: sender has ${own.messages.length} entries, recipient ${inbox.messages.length}`);
    const ids = new Set(own.messages.map((m) => m.clientMsgId));
    if (ids.size !== own.messages.length) problems.push(`sender ${i}: ${own.messages.length - ids.size} duplicate clientMsgIds`);
    const gap2 = denseProblem(own.messages);
    if (gap2) problems.push(`sender ${i}: ${gap2}`);
  }
  if (entries < hostOk || entries > hostOk + hostClosed)
    problems.push(`${entries} recipient entries but the hosts answered ${hostOk} sendmsg 200s (+ ${hostClosed} to clients gone)`);
  if (hostAll !== hostOk + hostClosed) problems.push(`${hostAll - hostOk - hostClosed} sendmsg answers other than 200 or client gone`);
  if (entries < seen200) problems.push(`${entries} recipient entries but the client saw ${seen200} 200s`);
  if (entries > seen200 + inFlightSlack)
    problems.push(`${entries} recipient entries, more than the ${seen200} 200s seen + ${inFlightSlack} in flight at the generators' stops`);
  await sleep(1_100); // the store's counters in /metrics are cached for up to 1 s
  let commits = 0;
  for (const h of hosts) commits += metricSum(await scrapeMetrics(h.url), 'cgihost_store_commits_total');
  const out = {
    entries,
    hostOk,
    hostClientClosed: hostClosed,
    hostOther: hostAll - hostOk - hostClosed,
    clientSaw200: seen200,
    commits,
    perCommit: commits > 0 ? hostOk / commits : null,
    ok: problems.length === 0,
    problems,
    verifyMs: performance.now() - t0,
  };
  console.log(
    `${label} check (read through ${readHost.url}): ${fmtNum(entries)} recipient entries; the host(s) counted ${fmtNum(hostOk)} sendmsg 200s + ` +
      `${hostClosed} cut off at the generators' stops (client saw ${fmtNum(seen200)}); seqs dense, clientMsgIds unique: ${out.ok ? 'OK' : 'FAILED'}` +
      (commits > 0 ? `; ${fmtNum(commits)} store commits (${fmtNum(out.perCommit, 1)} sends per commit)` : ''),
  );
  for (const p of problems) console.log(`  ${label}: ${p}`);
  return out;
}

// ---------------------------------------------------------------------------
// Beside 2: what a second process gives on this machine at all. Two bare
// node:http echo servers (bench/baseline/echo-server.mjs) against one, the
// connections split as for pg2, rounds alternating: when the cores are all
// busy (hosts, PostgreSQL and the load generator share 2), two processes
// answer no more than one, whatever they run.

async function secondProcess({ servers, rounds, durationS, warmupS, load }) {
  servers.bare1 = await startBaseline();
  servers.bare2 = await startBaseline();
  const C = load.connections;
  const gens = {
    bare: [{ s: servers.bare1, connections: C }],
    bare2: [
      { s: servers.bare1, connections: Math.ceil(C / 2) },
      { s: servers.bare2, connections: Math.floor(C / 2) },
    ],
  };
  const run = async (side, secs) => {
    const res = await Promise.all(
      gens[side].map((g) =>
        runLoad({ url: `${g.s.url}/cgi-bin/echo`, body: { text: CONTENT }, durationS: secs, ...load, connections: g.connections }),
      ),
    );
    return { rps: res.reduce((x, r) => x + r.rps, 0), non2xx: res.reduce((x, r) => x + r.non2xx + r.errors, 0) };
  };
  const sides = ['bare', 'bare2'];
  for (const side of sides) if (warmupS > 0) await run(side, warmupS);
  const rows = [];
  for (let r = 1; r <= rounds; r++) {
    for (const side of r % 2 === 1 ? sides : [...sides].reverse()) {
      await sleep(300);
      rows.push({ round: r, side, ...(await run(side, durationS)) });
    }
  }
  const paired = pairedRatios(rows, 'bare2', 'bare');
  const rps = (side) => median(rows.filter((r) => r.side === side).map((r) => r.rps));
  const out = {
    rps: { bare: rps('bare'), bare2: rps('bare2') },
    twoOverOne: { medianPaired: median(paired), paired },
    non2xx: rows.reduce((x, r) => x + r.non2xx, 0),
  };
  console.log(
    `
bare node:http echo, two servers vs one (the same split of ${C} connections, ${rounds} rounds): ` +
      `${fmtNum(out.rps.bare2)} vs ${fmtNum(out.rps.bare)} req/s, two/one ${fmtRatio(out.twoOverOne.medianPaired)} ` +
      `(per round ${paired.map(fmtRatio).join(' ')})`,
  );
  await stopServers({ bare1: servers.bare1, bare2: servers.bare2 });
  delete servers.bare1;
  delete servers.bare2;
  return out;
}

// ---------------------------------------------------------------------------
// 3: wake-up latency on idle hosts, sample by sample, sides interleaved.

async function wakeUp({ servers, sqlite, hostA, hostB, samples, holdMs }) {
  const sides = {
    cross: { hold: hostB, send: hostA, label: 'PostgreSQL, held on B, sent through A' },
    same: { hold: hostA, send: hostA, label: 'PostgreSQL, one host' },
    sqlite: { hold: sqlite, send: sqlite, label: 'SQLite, one host' },
  };
  for (const [name, s] of Object.entries(sides)) {
    const [sender] = await makeUsers(s.send.url, { prefix: `wake_${name}_s`, count: 1 });
    const [recipient] = await makeUsers(s.send.url, { prefix: `wake_${name}_r`, count: 1 });
    Object.assign(s, { sender, recipient, syncKey: 0, ms: [], sendMs: [], problems: [] });
  }
  // The floor: one round trip to a bare node:http echo, after the same idle wait, from the same client.
  servers.bareWake = await startBaseline();
  const floor = [];
  console.log(
    `\nwake-up: ${samples} samples per side (+5 warm-up), sides interleaved; each: sync held ${holdMs} ms, then a send ` +
      `(node:http, kept-alive connections); and a bare node:http echo after ${holdMs} ms idle`,
  );
  const via = 'http';
  const warm = 5;
  let n = 0;
  for (let i = 0; i < samples + warm; i++) {
    for (const s of Object.values(sides)) {
      n++;
      // Never rejects (a failed sync is a problem of the sample, not the end of the bench).
      const held = sync(s.hold.url, s.recipient.token, { syncKey: s.syncKey, limit: 100, timeoutMs: 10_000 }, { via }).then(
        (r) => ({ r, at: performance.now() }),
        (err) => ({ r: { status: 0, text: String(err) }, at: performance.now() }),
      );
      let early = null;
      held.then(() => (early ??= 'answered before the send'));
      await sleep(holdMs);
      const t0 = performance.now();
      if (early) {
        s.problems.push(`sample ${i}: the held sync was ${early}`);
        const { r } = await held;
        if (r.status === 200) s.syncKey = r.json.syncKey;
        continue;
      }
      const sent = await sendText(s.send.url, s.sender.token, { to: s.recipient.uid, content: CONTENT, clientMsgId: `wake-${n}` }, { via });
      const tSent = performance.now();
      const { r, at } = await held;
      if (sent.status !== 200 || r.status !== 200 || !r.json.messages.some((m) => m.msgId === sent.json?.msgId)) {
        s.problems.push(`sample ${i}: send ${sent.status}, sync ${r.status} ${r.text.slice(0, 200)}`);
        if (r.status === 200) s.syncKey = r.json.syncKey;
        continue;
      }
      s.syncKey = r.json.syncKey;
      if (i >= warm) {
        s.ms.push(at - t0);
        s.sendMs.push(tSent - t0);
      }
    }
    await sleep(holdMs);
    const t0 = performance.now();
    const echo = await postJson(`${servers.bareWake.url}/cgi-bin/echo`, { text: CONTENT }, { via });
    if (echo.status !== 200) throw new Error(`the bare echo answered ${echo.status}`);
    if (i >= warm) floor.push(performance.now() - t0);
  }
  const out = {};
  for (const [name, s] of Object.entries(sides)) {
    out[name] = {
      label: s.label,
      samples: s.ms.length,
      p50: percentile(s.ms, 50),
      p90: percentile(s.ms, 90),
      p99: percentile(s.ms, 99),
      max: Math.max(...s.ms),
      sendP50: percentile(s.sendMs, 50),
      sendP99: percentile(s.sendMs, 99),
      problems: s.problems,
    };
  }
  const floorRow = {
    label: 'bare node:http echo (the floor)',
    samples: floor.length,
    p50: percentile(floor, 50),
    p90: percentile(floor, 90),
    p99: percentile(floor, 99),
    max: Math.max(...floor),
    problems: [],
  };
  printTable(
    ['side', 'samples', 'p50', 'p90', 'p99', 'max', 'sendmsg p50', 'sendmsg p99', 'problems'],
    [...Object.values(out), floorRow].map((o) => [
      o.label,
      o.samples,
      fmtMs(o.p50),
      fmtMs(o.p90),
      fmtMs(o.p99),
      fmtMs(o.max),
      fmtMs(o.sendP50),
      fmtMs(o.sendP99),
      o.problems.length,
    ]),
  );
  for (const o of Object.values(out)) for (const p of o.problems.slice(0, 5)) console.log(`  ${o.label}: ${p}`);
  out.floor = floorRow;
  return out;
}

// ---------------------------------------------------------------------------

function report(out) {
  const t = out.throughput;
  const w = out.wake;
  const pgClean = t && t.checks.pg.ok && ['pg', 'pg2'].every((s) => t.summary[s].non2xx + t.summary[s].errors === 0);
  const sqliteClean = t && t.checks.sqlite.ok && t.summary.sqlite.non2xx + t.summary.sqlite.errors === 0;
  const goals = [];
  if (t) {
    const r1 = t.ratios.pgOverSqlite.medianPaired;
    const r2 = t.ratios.twoOverOne.medianPaired;
    goals.push({
      what: `sendmsg pg/sqlite (FULL) >= ${GOALS.pgOverSqlite}`,
      figure: fmtRatio(r1),
      met: pgClean && sqliteClean && r1 >= GOALS.pgOverSqlite,
      detail: `per round ${t.ratios.pgOverSqlite.paired.map(fmtRatio).join(' ')}; ${fmtNum(t.summary.pg.rps)} vs ${fmtNum(t.summary.sqlite.rps)} req/s`,
    });
    goals.push({
      what: `sendmsg two hosts/one >= ${GOALS.twoOverOne}`,
      figure: fmtRatio(r2),
      met: pgClean && r2 >= GOALS.twoOverOne,
      detail:
        `per round ${t.ratios.twoOverOne.paired.map(fmtRatio).join(' ')}; ${fmtNum(t.summary.pg2.rps)} vs ${fmtNum(t.summary.pg.rps)} req/s` +
        (out.bare ? `; two bare node:http echo servers / one here: ${fmtRatio(out.bare.twoOverOne.medianPaired)}` : ''),
    });
    const sum = (s) => t.serverOf[s].reduce((x, n) => x + t.summary[s].cpuBy[n], 0);
    const cores = (s) => t.serverOf[s].reduce((x, n) => x + t.summary[s].coresBy[n], 0);
    goals.push({
      what: '  server CPU us/req (hosts + postgres) one / two hosts',
      figure: `${fmtNum(sum('pg'), 0)} / ${fmtNum(sum('pg2'), 0)}`,
      met: undefined,
      detail: `cores used ${fmtNum(cores('pg'), 2)} / ${fmtNum(cores('pg2'), 2)}; postgres us/req ${fmtNum(t.summary.pg.cpuBy.postgres, 0)} / ${fmtNum(t.summary.pg2.cpuBy.postgres, 0)}`,
    });
  }
  if (w) {
    const ok = w.cross.problems.length === 0;
    goals.push({
      what: `wake-up across hosts p99 < ${GOALS.wakeP99Ms} ms`,
      figure: fmtMs(w.cross.p99),
      met: ok && w.cross.p99 < GOALS.wakeP99Ms,
      detail:
        `p50 ${fmtMs(w.cross.p50)}; one PG host p99 ${fmtMs(w.same.p99)}, SQLite p99 ${fmtMs(w.sqlite.p99)}; ` +
        `a bare node:http echo on this idle machine p50 ${fmtMs(w.floor.p50)}, p99 ${fmtMs(w.floor.p99)}`,
    });
  }
  out.goals = goals.map(({ what, figure, met }) => ({ what: what.trim(), figure, met }));
  out.goalsMet = {
    pgOverSqlite: goals[0]?.met,
    twoOverOne: goals[1]?.met,
    wakeP99: goals.find((g) => g.what.startsWith('wake'))?.met,
  };
  console.log(`\n=== issue 20 goals, same-run figures${out.dryRun ? ' (DRY RUN: SQLite in place of PostgreSQL, not the goals)' : ''} ===`);
  printTable(
    ['goal', 'figure', 'verdict', ''],
    goals.map((g) => [g.what, g.figure, g.met === undefined ? '' : g.met ? 'met' : 'NOT met', g.detail]),
  );
  if (t && !(pgClean && sqliteClean)) console.log('failed requests or a failed check: the throughput figures are not valid');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
