// The web client's speed (issue 16), in Debian's Chromium against the host
// serving the built-in cgis/:
//   1. size: JS + CSS of the page, gzipped (goal: at most 150 KB);
//   2. first load: navigation → conversation list on screen (the page's
//      `conversations-visible` performance mark), in a fresh browser context
//      (nothing cached) and after a reload (cached snapshot, 304s), against a
//      bare node:http page that marks itself in its first frame, alternating
//      rounds (goal: within 1 s);
//   3. opening a conversation of `--messages` (10,000) messages, click →
//      newest message on screen, alternating with a 10-message one: the ratio
//      says whether the cost grows with the history (goal: under 500 ms);
//   4. scrolling it from the newest message to the first at a fast fling
//      (`--speed` px a frame), older pages loading on the way, twice, ABBA
//      with the same number of frames of the same messages as a static page
//      (all in the DOM, no script): frame times, long tasks, and the most
//      list items in the DOM at once.
//   node bench/web.mjs [--rounds 6] [--messages 10000] [--speed 300] [--conversations 20]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startHost, stopServers, ROOT } from './lib/servers.mjs';
import { boundedNumber, fmtMs, fmtNum, fmtRatio, median, percentile, printTable, ratio, verdict } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { makeUsers, sendText } from './lib/users.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WEB = join(ROOT, 'dist', 'web');
const OPTIONS = {
  rounds: { type: 'string', default: '6' },
  messages: { type: 'string', default: '10000' },
  speed: { type: 'string', default: '300' },
  conversations: { type: 'string', default: '20' },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const rounds = boundedNumber(a.rounds, 'rounds', 1, 50);
  const messages = boundedNumber(a.messages, 'messages', 100, 100_000);
  const speed = boundedNumber(a.speed, 'speed', 20, 5000);
  const others = boundedNumber(a.conversations, 'conversations', 2, 200) - 2;
  if (!existsSync(join(WEB, 'index.html'))) throw new Error('dist/web is missing: run `npm run build` first');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);

  console.log(`# web: the web client in Chromium, ${rounds} rounds; a ${fmtNum(messages)}-message conversation among ${others + 2}`);
  const size = bundleSize();
  console.log(
    `size: JS ${fmtKB(size.js)} + CSS ${fmtKB(size.css)} = ${fmtKB(size.total)} gzipped (${fmtKB(size.brotli)} as served with brotli)`,
  );

  const servers = {};
  const bare = await bareServer(messages);
  let browser;
  try {
    servers.host = await startHost({ cgisDir: join(ROOT, 'cgis'), readyTimeoutMs: 120_000 });
    const url = servers.host.url;
    console.log(`host: ${url} (ready in ${fmtNum(servers.host.readyMs)} ms); bare page: ${bare.url}`);
    const seeded = await seed(url, messages, others);
    console.log(`seeded ${fmtNum(messages)} + 10 messages and ${others} other conversations in ${fmtNum(seeded.ms)} ms`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });

    const rows = [];
    for (let r = 0; r < rounds; r++) {
      // ABBA: the bare page first in even rounds, the client first in odd ones.
      const row = { round: r + 1 };
      const order = r % 2 ? ['client', 'bare'] : ['bare', 'client'];
      for (const side of order) {
        if (side === 'bare') row.bare = await firstPaint(browser, bare.url);
        else Object.assign(row, await clientRound(browser, url, seeded, r % 2 === 1));
      }
      rows.push(row);
      console.log(
        `round ${row.round}: bare ${fmtMs(row.bare)}  list cold ${fmtMs(row.cold)} warm ${fmtMs(row.warm)}  ` +
          `open ${fmtNum(messages)} ${fmtMs(row.openBig)} / 10 ${fmtMs(row.openSmall)}`,
      );
    }

    console.log(
      `\nscrolling the ${fmtNum(messages)} messages from the newest to the first at ${speed} px a frame, and the same frames of a static page…`,
    );
    const scrolls = { client: [], bare: [] };
    for (let r = 0; r < 2; r++) {
      for (const side of r % 2 ? ['bare', 'client'] : ['client', 'bare']) {
        const frames = side === 'bare' ? scrolls.client[0]?.frames : undefined;
        const run =
          side === 'client' ? await scrollRun(browser, url, seeded, speed) : await scrollBare(browser, bare.listUrl, speed, frames ?? 1200);
        scrolls[side].push(run);
        console.log(
          `${side}: ${fmtNum(run.frames)} frames, p50 ${fmtMs(run.frame.p50)} p95 ${fmtMs(run.frame.p95)} max ${fmtMs(run.frame.max)}, ` +
            `${run.slowFrames} over 50 ms, ${run.longTasks} long tasks, at most ${run.maxItems} list items in the DOM`,
        );
      }
    }
    const scroll = scrolls.client[0];
    const bareScroll = {
      p50: median(scrolls.bare.map((x) => x.frame.p50)),
      p95: median(scrolls.bare.map((x) => x.frame.p95)),
      max: Math.max(...scrolls.bare.map((x) => x.frame.max)),
    };
    const clientScroll = {
      p50: median(scrolls.client.map((x) => x.frame.p50)),
      p95: median(scrolls.client.map((x) => x.frame.p95)),
      p99: median(scrolls.client.map((x) => x.frame.p99)),
      max: Math.max(...scrolls.client.map((x) => x.frame.max)),
    };

    const med = (k) => median(rows.map((x) => x[k]));
    const summary = {
      size,
      firstLoad: {
        bareMs: med('bare'),
        coldMs: med('cold'),
        warmMs: med('warm'),
        coldOverBare: median(rows.map((x) => ratio(x.cold, x.bare))),
      },
      open: { bigMs: med('openBig'), smallMs: med('openSmall'), bigOverSmall: median(rows.map((x) => ratio(x.openBig, x.openSmall))) },
      scroll: { runs: scrolls, client: clientScroll, bare: bareScroll },
    };
    console.log('');
    printTable(
      ['figure', 'median', 'baseline', 'ratio', 'goal'],
      [
        ['JS + CSS gzipped', fmtKB(size.total), '', '', `≤ 150 KB ${verdict(size.total <= 150 * 1024)}`],
        [
          'list visible, fresh context',
          fmtMs(summary.firstLoad.coldMs),
          fmtMs(summary.firstLoad.bareMs),
          fmtRatio(summary.firstLoad.coldOverBare),
          `< 1 s ${verdict(summary.firstLoad.coldMs < 1000)}`,
        ],
        [
          'list visible, reload',
          fmtMs(summary.firstLoad.warmMs),
          fmtMs(summary.firstLoad.bareMs),
          fmtRatio(ratio(summary.firstLoad.warmMs, summary.firstLoad.bareMs)),
          `< 1 s ${verdict(summary.firstLoad.warmMs < 1000)}`,
        ],
        [
          `open ${fmtNum(messages)} messages`,
          fmtMs(summary.open.bigMs),
          fmtMs(summary.open.smallMs),
          fmtRatio(summary.open.bigOverSmall),
          `< 500 ms ${verdict(summary.open.bigMs < 500)}`,
        ],
        ['scroll frame p50', fmtMs(clientScroll.p50), fmtMs(bareScroll.p50), fmtRatio(ratio(clientScroll.p50, bareScroll.p50)), ''],
        ['scroll frame p95', fmtMs(clientScroll.p95), fmtMs(bareScroll.p95), fmtRatio(ratio(clientScroll.p95, bareScroll.p95)), ''],
        ['scroll frame max', fmtMs(clientScroll.max), fmtMs(bareScroll.max), '', ''],
      ],
    );
    console.log(
      `client scroll (first run): ${fmtNum(scroll.frames)} frames in ${fmtNum(scroll.ms)} ms (idle frames before it: p50 ${fmtMs(scroll.idle.p50)}), ${fmtNum(scroll.slowFrames)} over 50 ms, ` +
        `${fmtNum(scroll.longTasks)} long tasks (longest ${fmtMs(scroll.longestTask)}), ${fmtNum(scroll.waitFrames)} frames at the top waiting for a page, ` +
        `${fmtNum(scroll.pages)} gethistory pages, at most ${scroll.maxItems} list items in the DOM (${fmtNum(scroll.loaded)} loaded)`,
    );
    writeResult('web', { rounds: rows, summary, options: { rounds, messages, speed, conversations: others + 2 } });
    return summary;
  } finally {
    await browser?.close();
    bare.close();
    await stopServers(servers);
  }
}

const fmtKB = (b) => `${(b / 1024).toFixed(1)} KB`;

function bundleSize() {
  const dir = join(WEB, 'assets');
  const files = readdirSync(dir);
  const gz = (ext) =>
    files.filter((f) => f.endsWith(ext)).reduce((n, f) => n + gzipSync(readFileSync(join(dir, f)), { level: 9 }).length, 0);
  const br = files.filter((f) => /\.(js|css)\.br$/.test(f)).reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
  const js = gz('.js');
  const css = gz('.css');
  return { js, css, total: js + css, brotli: br };
}

/**
 * The floors, from a bare node:http server: `/` marks `conversations-visible`
 * in its first frame; `/list` is the long conversation as plain static HTML
 * (every message in the DOM, no script), scrolled the same way as the client.
 */
function bareServer(messages) {
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>bare</title></head><body><ul><li>bare</li></ul>
<script>requestAnimationFrame(() => performance.mark('conversations-visible'))</script></body></html>`;
  const items = Array.from({ length: messages }, (_, i) => `<li><p>message ${i} of a long conversation: ordinary chat text</p></li>`).join(
    '',
  );
  const list = `<!doctype html><html><head><meta charset="utf-8"><title>bare list</title><style>
html,body{margin:0;height:100%;font:15px/1.45 system-ui,sans-serif}
.vscroller{height:100%;overflow-y:auto;display:flex;flex-direction:column-reverse}
ul{margin:0;padding:0;list-style:none}li{padding:1px 16px}p{display:inline-block;margin:0;padding:7px 12px;border-radius:14px;background:#eee}
</style></head><body><div class="vscroller" data-count="${messages}"><div><ul aria-label="Messages">${items}</ul></div></div></body></html>`;
  const server = createServer((req, res) => {
    const body = req.url === '/list' ? list : page;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/`;
      resolve({ url, listUrl: `${url}list`, close: () => server.close() });
    }),
  );
}

/** A reader with a long conversation, a short one, and `others` more with one message each. */
async function seed(url, messages, others) {
  const t0 = performance.now();
  const [reader, talker, brief, ...rest] = await makeUsers(url, { prefix: `web${process.pid}`, count: 3 + others, concurrency: 4 });
  // Both sides write, in order, eight at a time: a real back-and-forth, and no sender's rate limit reached.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < messages) {
        const i = next++;
        const [from, to] = i % 2 ? [talker, reader] : [reader, talker];
        const r = await sendText(
          url,
          from.token,
          { to: to.uid, content: `message ${i} of a long conversation: ordinary chat text`, clientMsgId: `web-${i}` },
          { timeoutMs: 30_000 },
        );
        if (r.status !== 200) throw new Error(`sendmsg: ${r.status} ${r.text}`);
      }
    }),
  );
  for (let i = 0; i < 10; i++)
    await sendText(url, brief.token, { to: reader.uid, content: `short conversation ${i}`, clientMsgId: `short-${i}` });
  for (const u of rest) await sendText(url, u.token, { to: reader.uid, content: `hello from ${u.username}`, clientMsgId: 'hello' });
  // The long conversation's newest message names the last one sent: the test of "on screen".
  const last = await sendText(url, talker.token, {
    to: reader.uid,
    content: 'the newest message of the long conversation',
    clientMsgId: 'newest',
  });
  if (last.status !== 200) throw new Error(`sendmsg: ${last.status} ${last.text}`);
  return { reader, talker, brief, ms: performance.now() - t0 };
}

/** A signed-in page of the reader, in a fresh context (no HTTP cache, no IndexedDB). */
async function readerPage(browser, url, reader) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const session = { uid: reader.uid, token: reader.token, username: reader.username };
  await context.addInitScript((s) => localStorage.setItem('cgihost.session', JSON.stringify(s)), session);
  const page = await context.newPage();
  // A client error would make every figure after it meaningless: say so.
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('crash', () => console.log('the page crashed'));
  page.on('console', (m) => m.type() === 'error' && console.log(`console error: ${m.text()}`));
  return { context, page };
}

async function markTime(page) {
  await page.waitForFunction(() => performance.getEntriesByName('conversations-visible').length > 0, undefined, { timeout: 30_000 });
  return page.evaluate(() => performance.getEntriesByName('conversations-visible')[0].startTime);
}

async function firstPaint(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const t = await markTime(page);
  await context.close();
  return t;
}

/** Click a conversation (by a name it shows) and time until `text` is in the message list, one frame later. */
function openTime(page, name, text) {
  return page.evaluate(
    ({ name, text }) =>
      new Promise((resolve, reject) => {
        // The item named exactly so (user_1 must not match user_10).
        const item = [...document.querySelectorAll('[aria-label="Conversations"] > li')].find(
          (li) => document.getElementById(li.getAttribute('aria-labelledby'))?.textContent === name,
        );
        if (!item) return reject(new Error(`no conversation named ${name}`));
        const t0 = performance.now();
        item.querySelector('a').click();
        const check = () => {
          const list = document.querySelector('[aria-label="Messages"]');
          if (list && list.textContent.includes(text)) requestAnimationFrame(() => resolve(performance.now() - t0));
          else if (performance.now() - t0 > 60_000) reject(new Error(`"${text}" did not show in 60 s`));
          else requestAnimationFrame(check);
        };
        check();
      }),
    { name, text },
  );
}

async function clientRound(browser, url, seeded, smallFirst) {
  const { context, page } = await readerPage(browser, url, seeded.reader);
  try {
    await page.goto(url);
    const cold = await markTime(page);
    // The conversations must be there before they are clicked.
    await page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('listitem').nth(2).waitFor();
    const open = async (which) => {
      const [name, text] =
        which === 'big'
          ? [seeded.talker.username, 'the newest message of the long conversation']
          : [seeded.brief.username, 'short conversation 9'];
      const ms = await openTime(page, name, text);
      await page.evaluate(() => (location.hash = '#/'));
      await page.getByRole('list', { name: 'Conversations', exact: true }).waitFor();
      return ms;
    };
    const times = {};
    for (const which of smallFirst ? ['small', 'big'] : ['big', 'small']) times[which] = await open(which);
    await page.reload();
    const warm = await markTime(page);
    return { cold, warm, openBig: times.big, openSmall: times.small };
  } finally {
    await context.close();
  }
}

/** Scrolls the long conversation from its newest message to its first, one step a frame; idle frames first, as the baseline. */
async function scrollRun(browser, url, seeded, speed) {
  const { context, page } = await readerPage(browser, url, seeded.reader);
  let pages = 0;
  page.on('request', (r) => r.url().endsWith('/cgi-bin/gethistory') && pages++);
  try {
    await page.goto(url);
    await markTime(page);
    await page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('listitem').nth(2).waitFor();
    await openTime(page, seeded.talker.username, 'the newest message of the long conversation');
    const r = await page.evaluate(
      ({ speed, first }) =>
        new Promise((resolve) => {
          const el = document.querySelector('.vscroller');
          const longTasks = [];
          new PerformanceObserver((l) => longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
          const idle = [];
          const frames = [];
          let waitFrames = 0;
          let maxItems = 0;
          let last = performance.now();
          let t0 = 0;
          const step = (now) => {
            const dt = now - last;
            last = now;
            if (idle.length < 120) {
              idle.push(dt);
              if (idle.length === 120) t0 = now;
              return requestAnimationFrame(step);
            }
            if (t0 !== now) frames.push(dt);
            maxItems = Math.max(maxItems, document.querySelectorAll('[aria-label="Messages"] > li').length);
            const atTop = el.scrollHeight - el.clientHeight + el.scrollTop < 2;
            if (atTop && el.textContent.includes(first)) {
              return resolve({ idle, frames, ms: now - t0, waitFrames, maxItems, longTasks, loaded: Number(el.dataset.count) });
            }
            if (atTop) waitFrames++;
            el.scrollBy(0, -speed);
            if (now - t0 > 180_000)
              return resolve({
                idle,
                frames,
                ms: now - t0,
                waitFrames,
                maxItems,
                longTasks,
                loaded: Number(el.dataset.count),
                timedOut: true,
              });
            requestAnimationFrame(step);
          };
          requestAnimationFrame(step);
        }),
      { speed, first: 'message 0 of a long conversation' },
    );
    if (r.timedOut) console.log('warning: the scroll did not reach the first message within 180 s');
    const stats = (xs) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), max: Math.max(...xs) });
    return {
      frames: r.frames.length,
      ms: r.ms,
      idle: stats(r.idle),
      frame: stats(r.frames),
      slowFrames: r.frames.filter((x) => x > 50).length,
      longTasks: r.longTasks.length,
      longestTask: r.longTasks.length ? Math.max(...r.longTasks) : 0,
      waitFrames: r.waitFrames,
      maxItems: r.maxItems,
      loaded: r.loaded,
      pages,
      reachedFirst: !r.timedOut,
    };
  } finally {
    await context.close();
  }
}

/** The static list scrolled `frames` frames from its bottom, the same step a frame. */
async function scrollBare(browser, listUrl, speed, frames) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(listUrl);
    const r = await page.evaluate(
      ({ speed, frames }) =>
        new Promise((resolve) => {
          const el = document.querySelector('.vscroller');
          const longTasks = [];
          new PerformanceObserver((l) => longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
          const out = [];
          let last = performance.now();
          let warm = 30;
          const step = (now) => {
            const dt = now - last;
            last = now;
            if (warm > 0) warm--;
            else out.push(dt);
            if (out.length >= frames) return resolve({ frames: out, longTasks, items: document.querySelectorAll('li').length });
            el.scrollBy(0, -speed);
            requestAnimationFrame(step);
          };
          requestAnimationFrame(step);
        }),
      { speed, frames },
    );
    return {
      frames: r.frames.length,
      frame: { p50: percentile(r.frames, 50), p95: percentile(r.frames, 95), p99: percentile(r.frames, 99), max: Math.max(...r.frames) },
      slowFrames: r.frames.filter((x) => x > 50).length,
      longTasks: r.longTasks.length,
      maxItems: r.items,
    };
  } finally {
    await context.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
