// Moments (issue 17 Speed): a post by a user with `--contacts` (500) contacts,
// through the project's cgis/ on a real host (synchronous=FULL), until it is
// in every contact's timeline: `--posts` posts one at a time on an idle host,
// each timed from postmoment's 200 to the post being the newest line of a
// contact's getmoments (the consumer writes every contact's line in one
// atomic write, so one contact seeing it means all do; every contact's
// timeline is checked at the end). In the same alternating rounds, for
// comparison, the host's own write diffusion: a message to a group of the
// same 500 users, timed from sendmsg's 200 to the last member's sync
// long-poll answering with it.
// Goal: p99 under 1 s.
//   node bench/moments.mjs [--contacts 500] [--posts 30] [--data-dir DIR]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startHost, stopServers, ROOT } from './lib/servers.mjs';
import { percentile, fmtNum, fmtMs, verdict, boundedNumber } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { postJson, sleep } from './lib/client.mjs';
import { makeUsers, auth, sync } from './lib/users.mjs';

const GOAL_P99_MS = 1_000;

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({
    args: argv,
    options: { contacts: { type: 'string', default: '500' }, posts: { type: 'string', default: '30' }, 'data-dir': { type: 'string' } },
    strict: false,
  });
  const N = boundedNumber(a.contacts, 'contacts', 1, 5_000);
  const posts = boundedNumber(a.posts, 'posts', 1, 1_000);
  const dataDir = a['data-dir'] ? resolve(a['data-dir']) : mkdtempSync(join(tmpdir(), 'cgihost-bench-moments-'));
  mkdirSync(dataDir, { recursive: true });
  console.log(
    `# moments: a post by a user with ${N} contacts, into every contact's timeline (${posts} posts), beside a ${N}-member group message`,
  );
  const servers = {};
  const out = { config: { contacts: N, posts } };
  try {
    servers.host = await startHost({ cgisDir: join(ROOT, 'cgis'), dataDir });
    const url = servers.host.url;
    const call = async (u, name, body) => {
      const res = await postJson(`${url}/cgi-bin/${name}`, body, { headers: auth(u.token), timeoutMs: 30_000 });
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${res.text.slice(0, 300)}`);
      return res.json;
    };
    const cacheFile = `${dataDir}.bench-users.json`;
    const [poster] = await makeUsers(url, { prefix: 'poster', count: 1, cacheFile });
    const contacts = await makeUsers(url, {
      prefix: 'contact',
      count: N,
      cacheFile,
      onProgress: (d, n) => process.stdout.write(`\rusers ${d}/${n}`),
    });
    console.log(`\rusers: ${N + 1} in ${(contacts.ms / 1000).toFixed(1)} s (${contacts.reused} reused)`);
    for (let i = 0; i < N; i += 16) {
      await Promise.all(
        contacts.slice(i, i + 16).map(async (c) => {
          await call(poster, 'addcontact', { uid: c.uid });
          await call(c, 'acceptcontact', { uid: poster.uid });
        }),
      );
    }
    const list = await call(poster, 'getcontacts', {});
    if (list.contacts.length < N) throw new Error(`the poster has ${list.contacts.length} contacts, not ${N}`);
    // An N-member group (the poster and N - 1 contacts: groups.maxMembers is 500), the last contact in both.
    const group = await call(poster, 'creategroup', { name: 'bench', members: contacts.slice(1).map((c) => c.uid) });
    const watcher = contacts[N - 1];
    let syncKey = (await sync(url, watcher.token, { syncKey: 0, limit: 500 })).json.syncKey;
    for (;;) {
      const r = (await sync(url, watcher.token, { syncKey, limit: 500 })).json;
      syncKey = r.syncKey;
      if (!r.continueFlag) break;
    }

    const momentMs = [];
    const groupMs = [];
    const postIds = [];
    for (let i = 0; i < posts; i++) {
      // Moments: post, then poll the watcher's timeline for it.
      const { postId } = await call(poster, 'postmoment', { text: `bench post ${i}` });
      const t0 = performance.now();
      postIds.push(postId);
      for (;;) {
        const tl = await call(watcher, 'getmoments', { limit: 1 });
        if (tl.moments[0]?.postId === postId) break;
        if (performance.now() - t0 > 30_000) throw new Error(`post ${postId} not in the timeline after 30 s`);
        await sleep(2);
      }
      momentMs.push(performance.now() - t0);
      // The host's own fan-out: a group message, seen by the last member's long-poll.
      const held = sync(url, watcher.token, { syncKey, limit: 500, timeoutMs: 20_000 });
      await sleep(5);
      await call(poster, 'sendmsg', { groupId: group.groupId, type: 'text', content: `bench ${i}`, clientMsgId: `b${i}-${Date.now()}` });
      const g0 = performance.now();
      const got = (await held).json;
      groupMs.push(performance.now() - g0);
      syncKey = got.syncKey;
      await sleep(50);
    }
    // Every contact's timeline has every post.
    let missing = 0;
    for (let i = 0; i < N; i += 25) {
      const tls = await Promise.all(contacts.slice(i, i + 25).map((c) => call(c, 'getmoments', { limit: 50 })));
      for (const tl of tls) {
        const ids = new Set(tl.moments.map((m) => m.postId));
        missing += postIds.filter((id) => !ids.has(id)).length;
      }
    }
    out.moments = {
      p50: percentile(momentMs, 50),
      p99: percentile(momentMs, 99),
      max: Math.max(...momentMs),
      missing,
      met: missing === 0 && percentile(momentMs, 99) < GOAL_P99_MS,
    };
    out.group = { p50: percentile(groupMs, 50), p99: percentile(groupMs, 99), max: Math.max(...groupMs) };
    console.log(
      `moments post -> every contact's timeline: p50 ${fmtMs(out.moments.p50)}, p99 ${fmtMs(out.moments.p99)}, max ${fmtMs(out.moments.max)}; lines missing at the end: ${missing}`,
    );
    console.log(
      `same run, the host's group fan-out (${fmtNum(N)} members) sendmsg -> last member: p50 ${fmtMs(out.group.p50)}, p99 ${fmtMs(out.group.p99)}`,
    );
    console.log(`goal p99 < ${GOAL_P99_MS} ms: ${verdict(out.moments.met)}`);
  } finally {
    await stopServers(servers);
    if (!a['data-dir']) rmSync(dataDir, { recursive: true, force: true });
  }
  writeResult('moments', out);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
