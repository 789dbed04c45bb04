// Long-poll wake-up with many idle waiters (issue 4 Speed): the built-in
// cgis/ on the host (default config, durable), `--held` idle sync long-polls
// (timeoutMs 30000) spread over `--users` users (held / users each: 10,000 over
// 100 users by default, since registering 10,000 users means 20,000 scrypt
// hashes), each on its own keep-alive connection (one undici Pool per user),
// re-issued as soon as one times out so that the number held stays at `--held`.
// While they are held:
//   - host RSS before and with them held (memory per waiter);
//   - wake-up latency, `--iterations` times: a probe user holds one more sync,
//     then a marker sync (timeoutMs 0) taking the same path in order confirms
//     it is held in the store, then another user sends it a message; latency =
//     from the sender's 200 (the commit) to the probe's sync answer (p50, p99;
//     negative when the sync answer arrived first). /metrics is not read
//     meanwhile: with 10k sockets a scrape blocks the host's main thread;
//   - `--fan-iterations` times, a message to one of the idle users, which wakes
//     all of its (held / users) syncs: time to the first and the last of them.
// Then the end of held requests: the syncs of half the users are aborted by
// the client (sockets destroyed: the host must release them), the other half
// are left to time out (each answered 200 with an empty list at >= 30 s), and
// cgihost_sync_waiters must come back to 0 with no failed answer.
// Goal: wake-up p99 < 10 ms with the idle long-polls held.
//   node bench/longpoll.mjs [--held 10000] [--users 100] [--iterations 200] [--fan-iterations 20]
//                           [--hold-ms 30000] [--ramp-batch 200] [--settle-ms 5]
// Needs about held + 500 file descriptors in this process and in the host
// (ulimit -n, 20000 here); the bench checks its own limit and stops early if short.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startHost, stopServers, procMemory, ROOT } from './lib/servers.mjs';
import { percentile, median, fmtNum, fmtMs, fmtMB, verdict, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { sleep } from './lib/client.mjs';
import { makeUsers, scrapeMetrics, metricSum } from './lib/users.mjs';

const GOAL_P99_MS = 10;
const CGIS_DIR = join(ROOT, 'cgis');

const OPTIONS = {
  held: { type: 'string', default: '10000' },
  users: { type: 'string', default: '100' },
  iterations: { type: 'string', default: '200' },
  'fan-iterations': { type: 'string', default: '20' },
  'hold-ms': { type: 'string', default: '30000' },
  'ramp-batch': { type: 'string', default: '200' },
  'settle-ms': { type: 'string', default: '5' },
};

function fdLimit() {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const held = boundedNumber(a.held, 'held', 1, 50_000);
  const nUsers = boundedNumber(a.users, 'users', 1, 1_000);
  const iterations = boundedNumber(a.iterations, 'iterations', 1, 10_000);
  const fanIterations = Math.min(boundedNumber(a['fan-iterations'], 'fan-iterations', 0, 1_000), nUsers);
  const holdMs = boundedNumber(a['hold-ms'], 'hold-ms', 1_000, 30_000);
  const rampBatch = boundedNumber(a['ramp-batch'], 'ramp-batch', 10, 10_000);
  const settleMs = boundedNumber(a['settle-ms'], 'settle-ms', 0, 1_000);
  const perUser = Math.ceil(held / nUsers);
  const limit = fdLimit();
  if (Number.isFinite(limit) && limit < held + 500) {
    throw new Error(
      `ulimit -n is ${limit}: ${held} held connections need about ${held + 500} descriptors here and in the host; raise it (ulimit -n ${held + 2000}) or lower --held`,
    );
  }

  console.log('# longpoll: wake-up latency with idle sync long-polls held (built-in cgis/, synchronous=FULL)');
  console.log(
    `${fmtNum(held)} idle long-polls over ${nUsers} users (${perUser} each), timeoutMs ${holdMs}, ` +
      `${iterations} wake-ups of a single waiter, ${fanIterations} wake-ups of a user with ${perUser} waiters; ulimit -n ${limit}`,
  );

  const host = await startHost({ cgisDir: CGIS_DIR });
  console.log(`host: ${host.url} (pid ${host.pid}, ready in ${fmtNum(host.readyMs)} ms)`);
  const origin = host.url;
  // Idle long-polls: one connection each. Probe and sender: their own pools, never queued behind them.
  // One pool per idle user: an undici Pool looks for a free connection by
  // scanning all of its clients, so one pool of 10,000 makes the load
  // generator itself the bottleneck (quadratic CPU while ramping up).
  const idlePools = Array.from(
    { length: nUsers },
    () =>
      new Pool(origin, {
        connections: perUser + 5,
        pipelining: 1,
        keepAliveTimeout: 120_000,
        headersTimeout: 0,
        bodyTimeout: 0,
        connectTimeout: 30_000,
      }),
  );
  const probePool = new Pool(origin, { connections: 4, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const sendPool = new Pool(origin, { connections: 4, pipelining: 1 });
  const ctlPool = new Pool(origin, { connections: 4, pipelining: 1 });
  const post = async (pool, path, token, body, signal) => {
    const res = await pool.request({
      path,
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
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
  // A scrape can take seconds while the host is still busy with a burst of new
  // connections (and prom-client lists every open handle): wait for it.
  const slowScrapes = [];
  const waiters = async () => {
    const t = performance.now();
    const n = metricSum(await scrapeMetrics(origin, { timeoutMs: 120_000 }), 'cgihost_sync_waiters');
    const ms = performance.now() - t;
    if (ms > 1_000) slowScrapes.push(Math.round(ms));
    return n;
  };

  let renew = true;
  const result = { config: { held, users: nUsers, perUser, iterations, fanIterations, holdMs, fdLimit: limit } };
  try {
    // --- users
    const idleUsers = await makeUsers(origin, { prefix: 'lp', count: nUsers, concurrency: 8 });
    const [probe, sender] = await makeUsers(origin, { prefix: 'probe', count: 2, concurrency: 2 });
    console.log(`${nUsers + 2} users registered and logged in over HTTP in ${fmtNum(idleUsers.ms)} ms (concurrency 8)`);

    // --- warm the send and sync paths, then the RSS before anything is held
    for (let i = 0; i < 50; i++) {
      await post(sendPool, '/cgi-bin/sendmsg', sender.token, {
        to: idleUsers[i % nUsers].uid,
        type: 'text',
        content: 'warm',
        clientMsgId: `warm-${i}`,
      });
      await post(probePool, '/cgi-bin/sync', idleUsers[i % nUsers].token, { syncKey: 0, limit: 100, timeoutMs: 0 });
    }
    // The idle users start at their current syncKey (the warm-up messages above).
    const userKey = [];
    for (const u of idleUsers) {
      const r = await post(probePool, '/cgi-bin/sync', u.token, { syncKey: 0, limit: 500, timeoutMs: 0 });
      userKey.push(r.json.syncKey);
    }
    await sleep(1000);
    const memBefore = procMemory(host.pid);
    console.log(`host RSS before: ${fmtMB(memBefore.rss)}`);

    // --- the idle long-polls, re-issued when one ends while `renew` is on
    const stats = { issued: 0, outstanding: 0, timedOut: 0, woken: 0, aborted: 0, bad: [], timeoutElapsed: [] };
    const controllers = new Map(); // per user: Set of AbortControllers
    const fanWatch = new Map(); // user index -> callback(t) for each woken answer
    const hold = (ui) => {
      const u = idleUsers[ui];
      const ac = new AbortController();
      let set = controllers.get(ui);
      if (!set) controllers.set(ui, (set = new Set()));
      set.add(ac);
      stats.issued++;
      stats.outstanding++;
      const t0 = performance.now();
      post(idlePools[ui], '/cgi-bin/sync', u.token, { syncKey: userKey[ui], limit: 100, timeoutMs: holdMs }, ac.signal).then(
        (r) => {
          const t = performance.now();
          stats.outstanding--;
          set.delete(ac);
          if (r.status !== 200) {
            stats.bad.push(`${r.status} ${r.text.slice(0, 200)}`);
          } else if (r.json.messages.length === 0) {
            stats.timedOut++;
            stats.timeoutElapsed.push(t - t0);
          } else {
            stats.woken++;
            userKey[ui] = Math.max(userKey[ui], r.json.syncKey);
            fanWatch.get(ui)?.(t);
          }
          if (renew) hold(ui);
        },
        (err) => {
          stats.outstanding--;
          set.delete(ac);
          if (ac.signal.aborted) stats.aborted++;
          else stats.bad.push(String(err?.code ?? err?.message ?? err));
        },
      );
    };

    // Ramp-up paced: at most `rampBatch` requests waiting for a connection or
    // not yet sent, so the connects do not overflow the host's listen backlog
    // (a dropped SYN costs 1 s).
    const tr = performance.now();
    for (let i = 0; i < held; i++) {
      if (i % 20 === 0) {
        const waiting = () => idlePools.reduce((n, p) => n + p.stats.pending + p.stats.queued, 0);
        while (waiting() >= rampBatch) await sleep(2);
      }
      hold(i % nUsers);
    }
    // Held by the host? (the ones that already timed out are being re-issued meanwhile)
    const until = performance.now() + 60_000;
    // (A /metrics scrape with 10k sockets open blocks the host's main thread for
    // 100+ ms, prom-client listing every handle, and the host caches the store's
    // counters for 1 s anyway: poll gently.)
    while ((await waiters()) < held * 0.99 && performance.now() < until) await sleep(1_100);
    const rampMs = performance.now() - tr;
    const heldNow = await waiters();
    console.log(`${fmtNum(heldNow)} long-polls held after ${fmtNum(rampMs)} ms of ramp-up`);
    if (heldNow < held * 0.99)
      throw new Error(`only ${heldNow} of ${held} long-polls are held (bad answers: ${stats.bad.slice(0, 3).join('; ')})`);
    await sleep(1000);
    const memHeld = procMemory(host.pid);
    const perWaiter = (memHeld.rss - memBefore.rss) / held;
    console.log(
      `host RSS with ${fmtNum(held)} held: ${fmtMB(memHeld.rss)} (+${fmtMB(memHeld.rss - memBefore.rss)}, ${fmtNum(perWaiter / 1024, 1)} KiB per held long-poll)`,
    );
    result.memory = { rssBefore: memBefore.rss, rssHeld: memHeld.rss, hwm: memHeld.hwm, perWaiterBytes: perWaiter, rampMs };

    // --- wake-up latency of one waiter
    let probeKey = 0;
    const timedOutAtStart = stats.timedOut;
    const lags = [];
    const fromSend = [];
    const samples = [];
    for (let i = 0; i < iterations; i++) {
      const tIssue = performance.now();
      const pending = post(probePool, '/cgi-bin/sync', probe.token, { syncKey: probeKey, limit: 100, timeoutMs: holdMs }).then((r) => ({
        r,
        t: performance.now(),
      }));
      // Held? A marker sync (timeoutMs 0) sent just after it takes the same
      // path (host -> the sync CGI's worker -> store thread, each in order), so
      // when the marker is answered the probe's sync is held in the store.
      // (/metrics cannot tell: the idle ones time out and are re-issued all the
      // time, and a scrape with 10k sockets open blocks the host's main thread.)
      await sleep(settleMs);
      const marker = await post(probePool, '/cgi-bin/sync', sender.token, { syncKey: 1_000_000_000, limit: 1, timeoutMs: 0 });
      if (marker.status !== 200) throw new Error(`marker sync: ${marker.status} ${marker.text}`);
      const tSend = performance.now();
      const s = await post(sendPool, '/cgi-bin/sendmsg', sender.token, {
        to: probe.uid,
        type: 'text',
        content: `wake ${i}`,
        clientMsgId: `wake-${i}`,
      });
      const tAck = performance.now();
      if (s.status !== 200) throw new Error(`sendmsg: ${s.status} ${s.text}`);
      const { r, t } = await pending;
      if (r.status !== 200 || r.json.messages.length !== 1 || r.json.messages[0].content !== `wake ${i}`) {
        throw new Error(`probe sync: ${r.status} ${r.text.slice(0, 300)}`);
      }
      probeKey = r.json.syncKey;
      lags.push(t - tAck);
      fromSend.push(t - tSend);
      samples.push({ heldMs: tSend - tIssue, ackMs: tAck - tSend, wakeAfterAckMs: t - tAck, idleOutstanding: stats.outstanding });
    }
    const reissued = stats.timedOut - timedOutAtStart;
    const lagSummary = {
      p50: percentile(lags, 50),
      p90: percentile(lags, 90),
      p99: percentile(lags, 99),
      max: Math.max(...lags),
      min: Math.min(...lags),
      arrivedBeforeAck: lags.filter((x) => x < 0).length,
      sendToWakeP50: percentile(fromSend, 50),
      sendToWakeP99: percentile(fromSend, 99),
      ackP50: median(samples.map((s) => s.ackMs)),
      heldBeforeSendP50: median(samples.map((s) => s.heldMs)),
      idleOutstandingMin: Math.min(...samples.map((s) => s.idleOutstanding)),
      reissuedDuring: reissued,
    };
    console.log(
      `wake-up, sender's 200 -> held sync's answer (${iterations} wake-ups, >= ${fmtNum(lagSummary.idleOutstandingMin)} idle held, ` +
        `${fmtNum(reissued)} of them timed out and re-issued meanwhile): ` +
        `p50 ${fmtMs(lagSummary.p50)}, p90 ${fmtMs(lagSummary.p90)}, p99 ${fmtMs(lagSummary.p99)}, max ${fmtMs(lagSummary.max)}` +
        ` (${lagSummary.arrivedBeforeAck} answers arrived before the sender's 200)`,
    );
    console.log(
      `  for scale: send -> wake-up p50 ${fmtMs(lagSummary.sendToWakeP50)}, p99 ${fmtMs(lagSummary.sendToWakeP99)}; sendmsg round trip p50 ${fmtMs(lagSummary.ackP50)}`,
    );
    result.wake = { ...lagSummary, lags };

    // --- wake-up of a user holding `perUser` syncs
    const fan = [];
    for (let i = 0; i < fanIterations; i++) {
      const ui = i;
      const times = [];
      const n = controllers.get(ui)?.size ?? 0;
      const all = new Promise((resolve) =>
        fanWatch.set(ui, (t) => {
          times.push(t);
          if (times.length >= n) resolve();
        }),
      );
      const tSend = performance.now();
      const s = await post(sendPool, '/cgi-bin/sendmsg', sender.token, {
        to: idleUsers[ui].uid,
        type: 'text',
        content: `fan ${i}`,
        clientMsgId: `fan-${i}`,
      });
      const tAck = performance.now();
      if (s.status !== 200) throw new Error(`sendmsg: ${s.status} ${s.text}`);
      await Promise.race([all, sleep(10_000)]);
      fanWatch.delete(ui);
      if (times.length < n) throw new Error(`only ${times.length} of ${n} held syncs of user ${ui} answered within 10 s`);
      fan.push({ first: Math.min(...times) - tAck, last: Math.max(...times) - tAck, ack: tAck - tSend });
      await sleep(20);
    }
    if (fan.length) {
      result.fan = {
        waiters: perUser,
        firstP50: percentile(
          fan.map((f) => f.first),
          50,
        ),
        firstP99: percentile(
          fan.map((f) => f.first),
          99,
        ),
        lastP50: percentile(
          fan.map((f) => f.last),
          50,
        ),
        lastP99: percentile(
          fan.map((f) => f.last),
          99,
        ),
      };
      console.log(
        `wake-up of a user with ${perUser} held syncs (${fan.length} times), from the sender's 200: ` +
          `first answer p50 ${fmtMs(result.fan.firstP50)} p99 ${fmtMs(result.fan.firstP99)}, last answer p50 ${fmtMs(result.fan.lastP50)} p99 ${fmtMs(result.fan.lastP99)}`,
      );
    }

    // --- ending: half aborted by the client, half left to time out
    renew = false;
    await sleep(1_100); // re-issues reach the host, and the store's counters are cached for 1 s
    const before = await waiters();
    const half = Math.floor(nUsers / 2);
    let abortedNow = 0;
    const aborting = performance.now();
    for (let ui = 0; ui < half; ui++)
      for (const ac of controllers.get(ui) ?? []) {
        ac.abort();
        abortedNow++;
      }
    let afterAbort = before;
    const target = before - abortedNow;
    while (performance.now() - aborting < 20_000 && (afterAbort = await waiters()) > target) await sleep(1_100);
    const releaseMs = performance.now() - aborting;
    console.log(
      `aborted ${fmtNum(abortedNow)} held syncs client-side: host waiters ${fmtNum(before)} -> ${fmtNum(afterAbort)} within ${fmtNum(releaseMs)} ms (polled each 1.1 s)`,
    );
    const tLeft = performance.now();
    const leftToTimeOut = stats.outstanding;
    const timedOutBefore = stats.timedOut;
    while (stats.outstanding > 0 && performance.now() - tLeft < holdMs + 15_000) await sleep(100);
    await sleep(1_100);
    const final = await waiters();
    const endedByTimeout = stats.timedOut - timedOutBefore;
    const el = stats.timeoutElapsed;
    console.log(
      `${fmtNum(leftToTimeOut)} left to time out: ${fmtNum(endedByTimeout)} answered 200 with an empty list ` +
        `(all timeouts in the run: ${fmtNum(el.length)}, after ${fmtMs(Math.min(...el))} to ${fmtMs(Math.max(...el))}, p50 ${fmtMs(percentile(el, 50))}); ` +
        `still outstanding ${stats.outstanding}; host waiters now ${final}; bad answers ${stats.bad.length}`,
    );
    const probeSync = await post(ctlPool, '/cgi-bin/sync', probe.token, { syncKey: probeKey, limit: 1, timeoutMs: 0 });
    const errorLines = host
      .logTail()
      .split('\n')
      .filter((l) => /"level":"(error|fatal)"/.test(l));
    result.ending = {
      abortedByClient: abortedNow,
      waitersBeforeAbort: before,
      waitersAfterAbort: afterAbort,
      releaseMs,
      leftToTimeOut,
      endedByTimeout,
      timeoutElapsedMin: Math.min(...el),
      timeoutElapsedMax: Math.max(...el),
      timeoutsInRun: el.length,
      stillOutstanding: stats.outstanding,
      finalWaiters: final,
      badAnswers: stats.bad.length,
      badSample: stats.bad.slice(0, 5),
      unexpectedAborts: stats.aborted - abortedNow,
      hostAnswersAfter: probeSync.status,
      hostErrorLogLines: errorLines.length,
      slowMetricsScrapesMs: slowScrapes,
    };
    const cleanEnd =
      afterAbort <= target &&
      endedByTimeout === leftToTimeOut &&
      stats.outstanding === 0 &&
      final === 0 &&
      stats.bad.length === 0 &&
      probeSync.status === 200 &&
      Math.min(...el) >= holdMs - 50;
    result.ending.clean = cleanEnd;
    console.log(
      `held requests ended cleanly (aborts released, timeouts answered 200 empty at >= ${holdMs} ms, waiters back to 0, host answering, ` +
        `${errorLines.length} error log lines): ${cleanEnd ? 'yes' : 'NO'}`,
    );

    result.goal = { p99Ms: GOAL_P99_MS, met: lagSummary.p99 < GOAL_P99_MS };
    console.log(
      `\ngoal wake-up p99 < ${GOAL_P99_MS} ms with ${fmtNum(held)} idle long-polls held: ${verdict(result.goal.met)} (p99 ${fmtMs(lagSummary.p99)})`,
    );
    console.log(`memory: ${fmtNum(perWaiter / 1024, 1)} KiB of host RSS per held long-poll`);
    if (slowScrapes.length)
      console.log(`note: ${slowScrapes.length} /metrics scrapes took over 1 s with the long-polls open (ms: ${slowScrapes.join(', ')})`);
    writeResult('longpoll', result);
    return result;
  } finally {
    renew = false;
    await Promise.allSettled([...idlePools, probePool, sendPool, ctlPool].map((p) => p.destroy()));
    await stopServers({ host });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
