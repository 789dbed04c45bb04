// 1:1 sendmsg end to end over HTTP (issue 4 Speed): the built-in cgis/ on the
// host, durable (synchronous=FULL, the default), against the bare node:http
// echo in the same run, rounds alternating (ABC CBA ...). A second host with
// store.synchronous=NORMAL runs in the same rounds, for reference.
// Load: `--pairs` disjoint sender -> recipient pairs, one pair per request in
// turn (a wrk Lua script rotating Bearer tokens and targets), each request a
// fresh clientMsgId. The bare side gets the same script shape (same headers,
// a per-request body) so the load generator costs the same on both sides.
// Afterwards every recipient's inbox is read (one sync pass) and checked:
// entries >= the 200s the client saw and the host counted, and at most those
// plus the sends cut off when wrk stopped (the host answers them to a closed
// socket, 499 CLIENT_CLOSED, but they may have committed); seqs dense; each
// sender's clientMsgIds unique; as many entries on each side of a pair.
// Also printed: store commits (sends per commit), and raw better-sqlite3 with
// one transaction per message on the same disk, for context.
// Goal (issue 18): host(FULL)/bare req/s >= 0.5 with no failed request. Results go to
// sendmsg.json (sendmsg-c<N>.json with --connections other than 50).
// For trying a change under this noisy load: --alt-node-args / --alt-env add
// an "alt" side, the FULL host again with those node options or environment
// (JSON), in the same alternating rounds, and print alt/full per round (the
// result then goes to sendmsg-ab.json). A change behind an environment
// variable can so be measured against itself in one run. --alt-cli runs the
// alt side on another build (e.g. main's dist/cli.js, with its own cgis dir
// through --alt-cgis), to compare two branches in the same rounds.
//   node bench/sendmsg.mjs [--rounds 6] [--duration 3] [--warmup 3] [--connections 50]
//                          [--pairs 8] [--threads 1] [--tool auto|wrk|autocannon] [--no-normal]
//                          [--alt-node-args "--max-semi-space-size=64"] [--alt-env '{"NAME":"value"}']
//                          [--alt-cli ../main/dist/cli.js --alt-cgis ../main/cgis]
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { startBaseline, startHost, stopServers, ROOT } from './lib/servers.mjs';
import { runRounds, roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import { rawSends } from './lib/raw-sqlite.mjs';
import { median, ratio, fmtNum, fmtRatio, verdict, boundedNumber, summariseRounds, pairedRatios } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';
import { makeUsers, sendText, syncAll, denseProblem, scrapeMetrics, metricSum, runRotatingLoad } from './lib/users.mjs';

const GOAL = 0.5; // issue 18
const CGIS_DIR = join(ROOT, 'cgis');
const CONTENT = 'hello from the sendmsg bench';

const OPTIONS = {
  ...roundOptions(6),
  pairs: { type: 'string', default: '8' },
  'no-normal': { type: 'boolean', default: false },
  'alt-node-args': { type: 'string' },
  'alt-env': { type: 'string' },
  'alt-cli': { type: 'string' },
  'alt-cgis': { type: 'string' },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  const pairs = boundedNumber(a.pairs, 'pairs', 1, 200);
  const sides = a['no-normal'] ? ['bare', 'full'] : ['bare', 'full', 'normal'];
  const alt =
    a['alt-node-args'] !== undefined || a['alt-env'] !== undefined || a['alt-cli'] !== undefined
      ? {
          nodeArgs: (a['alt-node-args'] ?? '').split(' ').filter(Boolean),
          env: a['alt-env'] ? JSON.parse(a['alt-env']) : undefined,
          ...(a['alt-cli'] ? { cli: a['alt-cli'] } : {}),
          ...(a['alt-cgis'] ? { cgisDir: a['alt-cgis'] } : {}),
        }
      : null;
  if (alt) sides.push('alt');

  console.log('# sendmsg: 1:1 sendmsg over HTTP (built-in cgis/) vs bare node:http echo');
  console.log(
    `${load.tool}, ${load.connections} connections, ${load.threads} thread(s), ${pairs} sender->recipient pairs, ` +
      `${rounds} rounds x ${durationS} s per side, warm-up ${warmupS} s; sides: ${sides.join(', ')}`,
  );

  const tmp = mkdtempSync(join(tmpdir(), 'cgihost-bench-sendmsg-'));
  const normalConfig = join(tmp, 'normal.config.json');
  writeFileSync(normalConfig, JSON.stringify({ store: { synchronous: 'NORMAL' } }) + '\n');
  const servers = {};
  try {
    for (const side of sides) {
      servers[side] =
        side === 'bare'
          ? await startBaseline()
          : await startHost({
              cgisDir: CGIS_DIR,
              configFile: side === 'normal' ? normalConfig : undefined,
              ...(side === 'alt' ? alt : {}),
            });
      console.log(`${side}: ${servers[side].url} (pid ${servers[side].pid}, ready in ${fmtNum(servers[side].readyMs)} ms)`);
    }

    // Users: `pairs` senders and `pairs` recipients per host; recipients only receive.
    const variants = {};
    const people = {};
    let someToken;
    for (const side of sides.filter((s) => s !== 'bare')) {
      const url = servers[side].url;
      const senders = await makeUsers(url, { prefix: 'snd', count: pairs, concurrency: 8 });
      const recipients = await makeUsers(url, { prefix: 'rcp', count: pairs, concurrency: 8 });
      console.log(`${side}: ${2 * pairs} users registered and logged in over HTTP in ${fmtNum(senders.ms + recipients.ms)} ms`);
      people[side] = { senders, recipients };
      someToken = senders[0].token;
      variants[side] = senders.map((s, i) => ({
        headers: { authorization: `Bearer ${s.token}` },
        bodyTemplate: JSON.stringify({ to: recipients[i].uid, type: 'text', content: CONTENT, clientMsgId: '{{id}}' }),
      }));
      // Sanity: one send, answered as SPEC §4 says.
      const r = await sendText(url, senders[0].token, { to: recipients[0].uid, content: CONTENT, clientMsgId: 'sanity-1' });
      if (r.status !== 200 || typeof r.json?.msgId !== 'string' || r.json.seq !== 1)
        throw new Error(`${side}: sanity sendmsg: ${r.status} ${r.text.slice(0, 300)}`);
    }
    if (servers.bare) {
      // Same header size as the host side (a token-like bearer the bare server ignores), a per-request body.
      const fake = `Bearer ${'x'.repeat(someToken.length)}`;
      variants.bare = Array.from({ length: pairs }, () => ({ headers: { authorization: fake }, bodyTemplate: '{"text":"hello {{id}}"}' }));
      const r = await postJson(`${servers.bare.url}/cgi-bin/echo`, { text: 'hello' });
      if (r.status !== 200 || r.json?.echo !== 'hello') throw new Error(`bare does not echo: ${r.status} ${r.text}`);
    }

    const path = (side) => `${servers[side].url}/cgi-bin/${side === 'bare' ? 'echo' : 'sendmsg'}`;
    const seen200 = Object.fromEntries(sides.map((s) => [s, s === 'bare' ? 0 : 1])); // the sanity send
    const loads = Object.fromEntries(sides.map((s) => [s, 0]));
    const rows = await runRounds({
      sides,
      rounds,
      durationS,
      warmupS,
      pidOf: (side) => servers[side].pid,
      load: async (side, s) => {
        const res = await runRotatingLoad({ url: path(side), variants: variants[side], durationS: s, ...load });
        seen200[side] += res.requests - res.non2xx; // wrk: statuses >= 400 only; sendmsg answers 200 or an error
        loads[side]++;
        return res;
      },
    });

    // Correctness, one sync pass per user.
    const checks = {};
    for (const side of sides.filter((s) => s !== 'bare')) {
      checks[side] = await verify(side, servers[side].url, people[side], seen200[side], loads[side] * load.connections);
    }
    // Context for the durable figures: one transaction per message on the same disk, in the same run
    // (issue 4: about 5.7k/s at FULL, 24k/s at NORMAL when quiet).
    const rawRate = (sync) => rawSends({ sync, seconds: 2, content: CONTENT, pair: (n) => [`s${n % 8}`, `r${n % 8}`] });
    const raw = { full: rawRate('FULL'), normal: rawRate('NORMAL') };
    return report({ rounds, durationS, warmupS, pairs, load, sides, rows, checks, raw });
  } finally {
    await stopServers(servers);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Every recipient's inbox read in one pass. Exact check: entries equal the
 * sendmsg 200s the host counted. wrk stops with up to `connections` requests in
 * flight per load run, which the host still commits and answers to a closed
 * socket, so the client saw between entries - inFlightSlack and entries 200s.
 */
async function verify(side, url, { senders, recipients }, seen200, inFlightSlack) {
  const t0 = performance.now();
  const metrics = await scrapeMetrics(url);
  const hostOk = metricSum(metrics, 'cgihost_requests_total', { cgi: 'sendmsg', code: 'OK' });
  const hostAll = metricSum(metrics, 'cgihost_requests_total', { cgi: 'sendmsg' });
  // A send whose client went away (wrk stopping) is answered to nobody (499
  // CLIENT_CLOSED) but may well have committed: a client retries it with the
  // same clientMsgId. So: OK <= entries <= OK + CLIENT_CLOSED, no other code.
  const hostClosed = metricSum(metrics, 'cgihost_requests_total', { cgi: 'sendmsg', code: 'CLIENT_CLOSED' });
  const problems = [];
  let entries = 0;
  for (let i = 0; i < recipients.length; i++) {
    const inbox = await syncAll(url, recipients[i].token);
    entries += inbox.messages.length;
    const gap = denseProblem(inbox.messages);
    if (gap) problems.push(`${side} recipient ${i}: ${gap}`);
    if (inbox.messages.some((m) => m.from !== senders[i].uid || m.to !== recipients[i].uid))
      problems.push(`${side} recipient ${i}: an entry from someone else`);
    const own = await syncAll(url, senders[i].token);
    if (own.messages.length !== inbox.messages.length)
      problems.push(`${side} pair ${i}: sender has ${own.messages.length} entries, recipient ${inbox.messages.length}`);
    const ids = new Set(own.messages.map((m) => m.clientMsgId));
    if (ids.size !== own.messages.length) problems.push(`${side} sender ${i}: ${own.messages.length - ids.size} duplicate clientMsgIds`);
    const gap2 = denseProblem(own.messages);
    if (gap2) problems.push(`${side} sender ${i}: ${gap2}`);
  }
  if (entries < hostOk || entries > hostOk + hostClosed)
    problems.push(`${side}: ${entries} recipient entries but the host answered ${hostOk} sendmsg 200s (+ ${hostClosed} to clients gone)`);
  if (hostAll !== hostOk + hostClosed)
    problems.push(`${side}: ${hostAll - hostOk - hostClosed} sendmsg answers other than 200 or client gone`);
  if (entries < seen200) problems.push(`${side}: ${entries} recipient entries but the client saw ${seen200} 200s`);
  if (entries > seen200 + inFlightSlack)
    problems.push(`${side}: ${entries} recipient entries, more than the ${seen200} 200s seen + ${inFlightSlack} in flight at wrk's stops`);
  await sleep(1_100); // the store's counters in /metrics are cached for up to 1 s
  const commits = metricSum(await scrapeMetrics(url), 'cgihost_store_commits_total');
  const out = {
    entries,
    hostOk,
    hostClientClosed: hostClosed,
    commits,
    perCommit: hostOk / commits,
    hostOther: hostAll - hostOk - hostClosed,
    clientSaw200: seen200,
    cutOffAtStop: entries - seen200,
    ok: problems.length === 0,
    problems,
    verifyMs: performance.now() - t0,
  };
  console.log(
    `${side} check: ${fmtNum(entries)} recipient inbox entries; the host counted ${fmtNum(hostOk)} sendmsg 200s + ${hostClosed} cut off by wrk's stops (client gone, committed or not)` +
      ` (client saw ${fmtNum(seen200)}; ${entries - seen200} answered after wrk stopped, <= ${inFlightSlack}); ` +
      `seqs dense, clientMsgIds unique: ${out.ok ? 'OK' : 'FAILED'}; ${fmtNum(commits)} store commits in all (${fmtNum(out.perCommit, 1)} sends per commit)`,
  );
  for (const p of problems) console.log(`  ${p}`);
  return out;
}

function report({ rounds, durationS, warmupS, pairs, load, sides, rows, checks, raw }) {
  const summary = summariseRounds(rows, sides);

  const out = { config: { rounds, durationS, warmupS, pairs, ...load, sides }, rounds: rows, summary, checks, raw, ratios: {} };
  console.log('');
  for (const side of sides.filter((s) => s !== 'bare')) {
    const paired = pairedRatios(rows, side, 'bare');
    out.ratios[side] = {
      medianPaired: median(paired),
      paired,
      ofMedians: ratio(summary[side].rps, summary.bare.rps),
      cpu: ratio(summary[side].cpuUsPerReq, summary.bare.cpuUsPerReq),
      p99: ratio(summary[side].p99, summary.bare.p99),
    };
    const label = { full: 'sendmsg FULL/bare', normal: 'sendmsg NORMAL/bare', alt: 'sendmsg FULL (alt)/bare' }[side];
    console.log(
      `${label} req/s: ${fmtRatio(median(paired))} (median of per-round ratios: ${paired.map(fmtRatio).join(' ')}), ` +
        `${fmtRatio(out.ratios[side].ofMedians)} (ratio of medians); server CPU per request ${fmtRatio(out.ratios[side].cpu)}, p99 ${fmtRatio(out.ratios[side].p99)}`,
    );
  }
  if (summary.alt) {
    const ab = pairedRatios(rows, 'alt', 'full');
    out.ratios.altOverFull = { medianPaired: median(ab), paired: ab, cpu: ratio(summary.alt.cpuUsPerReq, summary.full.cpuUsPerReq) };
    console.log(
      `A/B alt/full req/s: ${fmtRatio(median(ab))} (per round: ${ab.map(fmtRatio).join(' ')}); CPU per request ${fmtRatio(out.ratios.altOverFull.cpu)}`,
    );
  }
  console.log(
    `for context, raw better-sqlite3 with one transaction per message (same disk, same run): FULL ${fmtNum(raw.full)}/s, NORMAL ${fmtNum(raw.normal)}/s; ` +
      `host sendmsg/raw: FULL ${fmtRatio(ratio(summary.full.rps, raw.full))}` +
      (summary.normal ? `, NORMAL ${fmtRatio(ratio(summary.normal.rps, raw.normal))}` : ''),
  );
  const clean = ['bare', 'full'].every((s) => summary[s].non2xx + summary[s].errors === 0) && checks.full.ok;
  out.goal = { ratio: GOAL, met: clean && out.ratios.full.medianPaired >= GOAL, clean };
  console.log(
    `goal sendmsg (durable, FULL)/bare >= ${GOAL}: ${verdict(out.goal.met)} (${fmtNum(summary.full.rps)} vs ${fmtNum(summary.bare.rps)} req/s medians)` +
      (clean ? '' : ' (failed requests or a failed check: figures not valid)'),
  );
  // Non-default loads get their own file, so the default run stays the headline.
  writeResult((load.connections === 50 ? 'sendmsg' : `sendmsg-c${load.connections}`) + (summary.alt ? '-ab' : ''), out);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
