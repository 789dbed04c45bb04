// Group fan-out into a `--members` (500) member group (issue 5 Speed), through
// the built-in cgis/ on the host (default config: synchronous=FULL), over HTTP:
//  (b) lag on an idle host, `--lag` messages one at a time, from the sender's
//      200 to the last member's entry, seen by a sync long-poll held by the
//      last member (b1, the goal's figure: only that member holds one; b2:
//      every other member holds one, so the time to the last of 499 answers);
//  (a) entries written per second under a stream of group sends: wrk, `--senders`
//      members sending in turn over `--connections` connections for
//      `--duration` s. Timed by the last member's long-poll chain (jobs run in
//      sending order, one transaction per job at least, so its N-th entry
//      means N x members entries are written): entries / (first send -> last
//      member's last entry); then checked against the host's
//      cgihost_inbox_entries_written_total and by reading whole inboxes of
//      three members (each send once, same order, dense seqs);
//  raw better-sqlite3 inserting `--members` index rows per transaction
//      (synchronous=FULL, WAL, same disk), before and after (a), for comparison.
// Goals: >= 150,000 entries/s; lag p99 < 100 ms.
// Registering 500 users costs 1,000 scrypt hashes (done 8 at a time, timed);
// `--data-dir DIR` keeps the host's data there and the users' tokens in
// DIR.bench-users.json, so a second run reuses them (the database grows).
//   node bench/fanout.mjs [--members 500] [--lag 100] [--duration 5] [--connections 32] [--senders 8]
//                         [--raw-messages 400] [--data-dir DIR]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { pickTool } from './lib/load.mjs';
import { rawFanout } from './lib/raw-sqlite.mjs';
import { startHost, stopServers, cpuTimeMs, ROOT } from './lib/servers.mjs';
import { percentile, median, fmtNum, fmtMs, verdict, boundedNumber, ratio, fmtRatio } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { sleep } from './lib/client.mjs';
import { makeUsers, scrapeMetrics, metricSum, runRotatingLoad, syncAll, denseProblem, auth } from './lib/users.mjs';

const GOAL_RATE = 150_000;
const GOAL_LAG_P99_MS = 100;
// Issue 18: fan-out at least 4x raw better-sqlite3 one-row inserts (same run), and the
// last answer p99 <= 100 ms with every member holding a long-poll.
const GOAL_RAW_RATIO = 4;
const GOAL_LAG_ALL_P99_MS = 100;
const CGIS_DIR = join(ROOT, 'cgis');

const OPTIONS = {
  members: { type: 'string', default: '500' },
  lag: { type: 'string', default: '100' },
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '32' },
  senders: { type: 'string', default: '8' },
  'raw-messages': { type: 'string', default: '400' },
  'data-dir': { type: 'string' },
  tool: { type: 'string', default: process.env.BENCH_TOOL || 'auto' },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const M = boundedNumber(a.members, 'members', 2, 100_000);
  const lagN = boundedNumber(a.lag, 'lag', 1, 1_000);
  const durationS = boundedNumber(a.duration, 'duration', 1, 120);
  const connections = boundedNumber(a.connections, 'connections', 1, 1_000);
  const nSenders = Math.min(boundedNumber(a.senders, 'senders', 1, 100), M);
  const rawMessages = boundedNumber(a['raw-messages'], 'raw-messages', 10, 100_000);
  const tool = pickTool(a.tool);
  const dataDir = a['data-dir'] ? resolve(a['data-dir']) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });

  console.log(`# fanout: group sends to a ${M}-member group over HTTP (built-in cgis/, synchronous=FULL)`);
  console.log(
    `lag: ${lagN} messages one at a time; throughput: ${tool}, ${nSenders} senders over ${connections} connections for ${durationS} s`,
  );

  // A group above the default cap (500) needs groups.maxMembers.
  const tmp = mkdtempSync(join(tmpdir(), 'cgihost-bench-fanout-'));
  let configFile;
  if (M > 500) writeFileSync((configFile = join(tmp, 'host.config.json')), JSON.stringify({ groups: { maxMembers: M } }) + '\n');
  const host = await startHost({ cgisDir: CGIS_DIR, dataDir, configFile });
  console.log(`host: ${host.url} (pid ${host.pid}, ready in ${fmtNum(host.readyMs)} ms)${dataDir ? `, data dir ${dataDir}` : ''}`);
  const url = host.url;
  const pool = new Pool(url, { connections: M + 20, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000 });
  const post = async (path, token, body) => {
    const res = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(token) },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json };
  };
  // The host caches the store's counters (queue depth, entries, waiters) for
  // up to 1 s: fresh() waits until the next scrape is sure to fetch new ones.
  let lastScrape = 0;
  const metrics = async () => {
    const m = await scrapeMetrics(url);
    lastScrape = performance.now();
    return {
      entries: metricSum(m, 'cgihost_inbox_entries_written_total'),
      depth: metricSum(m, 'cgihost_queue_depth', { topic: 'fanout' }),
      waiters: metricSum(m, 'cgihost_sync_waiters'),
      sendOk: metricSum(m, 'cgihost_requests_total', { cgi: 'sendmsg', code: 'OK' }), // live (main thread)
      sendClosed: metricSum(m, 'cgihost_requests_total', { cgi: 'sendmsg', code: 'CLIENT_CLOSED' }),
      deadLetters: metricSum(m, 'cgihost_queue_dead_letters', { topic: 'fanout' }),
      retries: metricSum(m, 'cgihost_queue_retries_total', { topic: 'fanout' }),
    };
  };
  const fresh = async () => {
    await sleep(Math.max(0, lastScrape + 1_050 - performance.now()));
    return metrics();
  };
  const drained = async (limitMs = 120_000) => {
    const t0 = performance.now();
    for (;;) {
      const m = await fresh();
      if (m.depth === 0) return m;
      if (performance.now() - t0 > limitMs) throw new Error(`fan-out queue not drained after ${limitMs} ms (depth ${m.depth})`);
    }
  };

  const result = {
    config: { members: M, lag: lagN, durationS, connections, senders: nSenders, tool, rawMessages, dataDir: dataDir ?? null },
  };
  try {
    // --- members
    const users = await makeUsers(url, {
      prefix: 'fm',
      count: M,
      concurrency: 8,
      cacheFile: dataDir ? `${dataDir}.bench-users.json` : undefined,
      onProgress: (n, of) => {
        if (n % 100 === 0) console.log(`  ${n}/${of} users`);
      },
    });
    console.log(
      `${M} users: ${users.reused} reused, ${M - users.reused} registered and logged in over HTTP in ${fmtNum(users.ms / 1000, 1)} s (concurrency 8)`,
    );
    result.registration = { users: M, reused: users.reused, ms: users.ms };
    const owner = users[0];
    const cg = await post('/cgi-bin/creategroup', owner.token, { name: 'fanout bench', members: users.slice(1).map((u) => u.uid) });
    if (cg.status !== 200 || cg.json.members.length !== M) throw new Error(`creategroup: ${cg.status} ${cg.text.slice(0, 300)}`);
    const groupId = cg.json.groupId;
    await drained();
    // Every member's current syncKey (the group_created entry, and more on a reused data dir).
    const keys = new Array(M).fill(0);
    let nk = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (nk < M) {
          const i = nk++;
          keys[i] = (await syncAll(url, users[i].token)).syncKey;
        }
      }),
    );
    const last = M - 1;

    // --- (b) lag on an idle host
    const lag = async (holders, label) => {
      const lags = [];
      const firsts = [];
      const fromSend = [];
      const acks = [];
      for (let i = 0; i < lagN; i++) {
        // Idle host: nothing else is held, so the held count must reach holders.length.
        await sleep(Math.max(0, lastScrape + 1_050 - performance.now()));
        const answers = holders.map((ui) =>
          post('/cgi-bin/sync', users[ui].token, { syncKey: keys[ui], limit: 100, timeoutMs: 30_000 }).then((r) => ({
            ui,
            r,
            t: performance.now(),
          })),
        );
        for (const p of answers) p.catch(() => {}); // when the pool is destroyed after a failure
        await sleep(20);
        const until = performance.now() + 10_000;
        for (let m = await metrics(); m.waiters < holders.length; m = await fresh()) {
          if (performance.now() > until) {
            const early = await Promise.race([Promise.all(answers), sleep(100).then(() => null)]);
            throw new Error(
              `${label}: the long-polls are not held (waiters ${m.waiters}, expected ${holders.length}; ` +
                `${
                  early
                    ? `answered: ${early
                        .slice(0, 2)
                        .map((g) => `${g.r.status} ${g.r.text.slice(0, 200)}`)
                        .join(' | ')}`
                    : 'none answered'
                })`,
            );
          }
        }
        const clientMsgId = `lag-${label}-${i}-${Date.now()}`;
        const tSend = performance.now();
        const s = await post('/cgi-bin/sendmsg', owner.token, { groupId, type: 'text', content: `lag ${i}`, clientMsgId });
        const tAck = performance.now();
        if (s.status !== 200) throw new Error(`sendmsg: ${s.status} ${s.text}`);
        const got = await Promise.all(answers);
        // Every member (the sender too) has one more entry.
        for (let k = 0; k < M; k++) keys[k]++;
        for (const { ui, r } of got) {
          if (
            r.status !== 200 ||
            r.json.messages.length !== 1 ||
            r.json.messages[0].msgId !== s.json.msgId ||
            r.json.syncKey !== keys[ui]
          ) {
            throw new Error(`${label}: member ${ui} got ${r.status} ${r.text.slice(0, 200)}`);
          }
        }
        const lastAt = Math.max(...got.map((g) => g.t));
        lags.push(lastAt - tAck);
        firsts.push(Math.min(...got.map((g) => g.t)) - tAck);
        fromSend.push(lastAt - tSend);
        acks.push(tAck - tSend);
      }
      const spread = (xs) => ({ p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99), max: Math.max(...xs) });
      const s = {
        ...spread(lags),
        firstP50: percentile(firsts, 50),
        lags,
        ack: { p50: percentile(acks, 50), p99: percentile(acks, 99) },
        // From the send's request to the last answer: what the goal is judged by, since the sender's own 200 may come
        // after some of the members' answers (they leave the store first) and would make the lag look shorter.
        fromSend: spread(fromSend),
      };
      return s;
    };
    const lagLast = await lag([last], 'last');
    console.log(
      `(b1) lag, sender's 200 -> the last member's entry (its held sync answered), idle host, ${lagN} messages: ` +
        `p50 ${fmtMs(lagLast.p50)}, p90 ${fmtMs(lagLast.p90)}, p99 ${fmtMs(lagLast.p99)}, max ${fmtMs(lagLast.max)}; ` +
        `the send's own 200 p50 ${fmtMs(lagLast.ack.p50)}, p99 ${fmtMs(lagLast.ack.p99)}`,
    );
    const everyone = Array.from({ length: M - 1 }, (_, i) => i + 1);
    const lagAll = await lag(everyone, 'all');
    console.log(
      `(b2) lag with all ${M - 1} other members holding a sync, sender's 200 -> the last of their answers: ` +
        `p50 ${fmtMs(lagAll.p50)}, p90 ${fmtMs(lagAll.p90)}, p99 ${fmtMs(lagAll.p99)}, max ${fmtMs(lagAll.max)} (first answer p50 ${fmtMs(lagAll.firstP50)})`,
    );
    const all = lagAll.fromSend;
    console.log(
      `(b2) the send's request -> the last of their answers (the goal's figure): ` +
        `p50 ${fmtMs(all.p50)}, p90 ${fmtMs(all.p90)}, p99 ${fmtMs(all.p99)}, max ${fmtMs(all.max)}; ` +
        `the send's own 200 p50 ${fmtMs(lagAll.ack.p50)}, p99 ${fmtMs(lagAll.ack.p99)}`,
    );
    result.lag = { lastMember: lagLast, allMembers: lagAll };

    // --- raw better-sqlite3, host idle
    const raw1 = rawFanout({ sync: 'FULL', members: M, messages: rawMessages });
    console.log(`raw better-sqlite3, ${M} rows per transaction, synchronous=FULL: ${fmtNum(raw1)} rows/s`);

    // --- (a) throughput under a stream of group sends
    const senders = users.slice(0, nSenders);
    const variants = senders.map((u) => ({
      headers: { authorization: `Bearer ${u.token}` },
      bodyTemplate: JSON.stringify({ groupId, type: 'text', content: 'a group message from the fan-out bench', clientMsgId: '{{id}}' }),
    }));
    // Timing by the last member: fan-out jobs run in the order of sending and
    // each job writes all of its entries in one transaction, so when the last
    // member holds the entry of the N-th message, N x members entries are
    // written. Its long-poll chain timestamps every arrival (the host's own
    // counters are cached for up to 1 s, too coarse to time a few seconds).
    const m0 = await fresh(); // idle and drained: exact
    const arrivals = [];
    let stopChain = false;
    let lastKey = keys[last];
    let lastGot = 0;
    let chainError;
    const t0 = performance.now();
    const chain = (async () => {
      while (!stopChain) {
        const r = await post('/cgi-bin/sync', users[last].token, { syncKey: lastKey, limit: 500, timeoutMs: 1_000 });
        if (r.status !== 200) throw new Error(`last member's sync: ${r.status} ${r.text.slice(0, 200)}`);
        if (r.json.messages.length === 0) continue;
        lastGot += r.json.messages.length;
        lastKey = r.json.syncKey;
        arrivals.push({ t: performance.now() - t0, got: lastGot });
      }
    })().catch((e) => {
      chainError = e;
    });
    const cpu0 = cpuTimeMs(host.pid);
    const load = await runRotatingLoad({ url: `${url}/cgi-bin/sendmsg`, variants, connections, durationS, tool });
    const tStreamEnd = performance.now() - t0;
    // Done when the queue is empty and the host's entry counter matches what the
    // last member received. Sends cut off by wrk's stop (499 CLIENT_CLOSED) may
    // have committed too, so the count of sends is what the last member got:
    // between the 200s and the 200s + the cut-off ones.
    const drainLimit = performance.now() + 300_000;
    let mEnd;
    for (;;) {
      mEnd = await fresh();
      if (chainError) throw chainError;
      if (mEnd.depth === 0 && mEnd.entries - m0.entries === lastGot * M) break;
      if (performance.now() > drainLimit) throw new Error(`not drained after 300 s: depth ${mEnd.depth}, last member has ${lastGot}`);
    }
    stopChain = true;
    await chain;
    if (chainError) throw chainError;
    const sendOk = mEnd.sendOk - m0.sendOk;
    const sendClosed = mEnd.sendClosed - m0.sendClosed;
    const sends = lastGot;
    if (sends < sendOk || sends > sendOk + sendClosed)
      throw new Error(`the last member got ${sends} messages for ${sendOk} sends answered 200 (+ ${sendClosed} cut off)`);
    const cpuMs = cpuTimeMs(host.pid) - cpu0;
    const totalMs = arrivals[arrivals.length - 1].t;
    const gotAt = (t) => arrivals.filter((x) => x.t <= t).reduce((g, x) => Math.max(g, x.got), 0);
    const rate = (sends * M) / (totalMs / 1000);
    const streamRate = (gotAt(tStreamEnd) * M) / (tStreamEnd / 1000);
    let peak = 0;
    for (let t = 500; t <= totalMs; t += 250) peak = Math.max(peak, ((gotAt(t) - gotAt(t - 500)) * M) / 0.5);
    const entries = mEnd.entries - m0.entries;
    console.log(
      `(a) stream: ${fmtNum(sends)} group sends committed (${fmtNum(sendOk)} answered 200, ${sends - sendOk} cut off by wrk's stop) in ${fmtNum(load.durationS, 1)} s (${fmtNum(load.rps)}/s, p50 ${fmtMs(load.p50)}, p99 ${fmtMs(load.p99)}, ` +
        `non2xx ${load.non2xx}, errors ${load.errors}); ${fmtNum(sends - gotAt(tStreamEnd))} messages still to fan out when the stream ended, done ${fmtNum(Math.max(0, totalMs - tStreamEnd))} ms later`,
    );
    console.log(
      `    ${fmtNum(sends * M)} inbox entries (${M} per message) in ${fmtNum(totalMs)} ms from the first send to the last member's last entry: ` +
        `${fmtNum(rate)} entries/s; during the stream ${fmtNum(streamRate)}/s; best 0.5 s ${fmtNum(peak)}/s; host CPU ${fmtNum(cpuMs / totalMs, 2)} cores`,
    );
    const raw2 = rawFanout({ sync: 'FULL', members: M, messages: rawMessages });
    const rawRate = median([raw1, raw2]);
    console.log(`raw better-sqlite3 again: ${fmtNum(raw2)} rows/s; median ${fmtNum(rawRate)}; host/raw ${fmtRatio(ratio(rate, rawRate))}`);

    // --- checks: every acknowledged message reached sampled members once, in order, seqs dense
    const problems = [];
    if (entries !== sends * M) problems.push(`${entries} entries written for ${sends} sends x ${M} members`);
    if (mEnd.deadLetters || mEnd.retries) problems.push(`fan-out retries ${mEnd.retries}, dead letters ${mEnd.deadLetters}`);
    const probeMembers = [...new Set([nSenders, Math.floor(M / 2), last].filter((i) => i >= nSenders && i < M))];
    let order;
    for (const ui of probeMembers) {
      const inbox = await syncAll(url, users[ui].token, keys[ui]);
      const gap = denseProblem(inbox.messages, keys[ui]);
      if (gap) problems.push(`member ${ui}: ${gap}`);
      const ids = inbox.messages.map((x) => x.msgId);
      if (inbox.messages.length !== sends)
        problems.push(`member ${ui}: ${inbox.messages.length} new entries for ${sends} acknowledged sends`);
      if (new Set(ids).size !== ids.length) problems.push(`member ${ui}: duplicate entries`);
      if (order && ids.join() !== order) problems.push(`member ${ui}: entries in another order than member ${probeMembers[0]}`);
      order ??= ids.join();
    }
    console.log(
      `check (members ${probeMembers.join(', ')}): every acknowledged send once, same order, dense seqs; entries = sends x ${M}: ${problems.length ? 'FAILED' : 'OK'}`,
    );
    for (const p of problems) console.log(`  ${p}`);

    result.throughput = {
      sends,
      sendRate: load.rps,
      load,
      entries,
      totalMs,
      entriesPerSecond: rate,
      streamEntriesPerSecond: streamRate,
      peakHalfSecondRate: peak,
      leftAtStreamEnd: sends - gotAt(tStreamEnd),
      drainMs: totalMs - tStreamEnd,
      hostCores: cpuMs / totalMs,
      arrivals,
    };
    result.raw = { rowsPerSecond: [raw1, raw2], median: rawRate, hostOverRaw: ratio(rate, rawRate) };
    result.checks = { ok: problems.length === 0, problems, members: probeMembers };
    const clean = problems.length === 0 && load.non2xx === 0 && load.errors === 0;
    result.goals = {
      rate: { goal: GOAL_RATE, met: clean && rate >= GOAL_RATE },
      lagP99: { goalMs: GOAL_LAG_P99_MS, met: lagLast.p99 < GOAL_LAG_P99_MS },
      rawRatio: { goal: GOAL_RAW_RATIO, ratio: ratio(rate, rawRate), met: clean && ratio(rate, rawRate) >= GOAL_RAW_RATIO },
      lagAllP99: { goalMs: GOAL_LAG_ALL_P99_MS, p99: lagAll.fromSend.p99, met: lagAll.fromSend.p99 <= GOAL_LAG_ALL_P99_MS },
    };
    console.log(
      `\ngoal >= ${fmtNum(GOAL_RATE)} entries/s: ${verdict(result.goals.rate.met)} (${fmtNum(rate)}/s; raw SQLite ${fmtNum(rawRate)}/s in the same run)`,
    );
    console.log(
      `goal lag p99 < ${GOAL_LAG_P99_MS} ms: ${verdict(result.goals.lagP99.met)} (p99 ${fmtMs(lagLast.p99)}; all members holding: ${fmtMs(lagAll.p99)})`,
    );
    console.log(
      `goal fan-out/raw >= ${GOAL_RAW_RATIO}x: ${verdict(result.goals.rawRatio.met)} (${fmtRatio(result.goals.rawRatio.ratio)}); ` +
        `goal last answer p99 <= ${GOAL_LAG_ALL_P99_MS} ms with all ${M} members holding: ${verdict(result.goals.lagAllP99.met)} (${fmtMs(lagAll.fromSend.p99)}, from the send's request)`,
    );
    writeResult('fanout', result);
    return result;
  } catch (err) {
    console.error('fanout failed:', err);
    throw err;
  } finally {
    try {
      await pool.destroy();
    } catch {
      /* already destroyed */
    }
    await stopServers({ host });
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
