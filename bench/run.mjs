// The bench runner: `npm run bench` (the issue 18 goals: echo, sendmsg, sync,
// fanout, startup, then one table of their same-run ratios), or by name, with flags
// after the names passed to every bench (each ignores the ones it lacks):
//   node bench/run.mjs echo startup --rounds 3
// A bench is a module exporting `main(argv)` that prints its figures and writes
// bench/results/<name>.json; add later benches to BENCHES.
const BENCHES = {
  echo: () => import('./echo.mjs'),
  startup: () => import('./startup.mjs'),
  swap: () => import('./swap.mjs'),
  'reload-latency': () => import('./reload-latency.mjs'),
  media: () => import('./media.mjs'),
  sendmsg: () => import('./sendmsg.mjs'),
  longpoll: () => import('./longpoll.mjs'),
  sync: () => import('./sync.mjs'),
  fanout: () => import('./fanout.mjs'),
  metrics: () => import('./metrics.mjs'),
  web: () => import('./web.mjs'),
  kv: () => import('./kv.mjs'),
  queue: () => import('./queue.mjs'),
  moments: () => import('./moments.mjs'),
  backup: () => import('./backup.mjs'),
  messenger: () => import('./messenger.mjs'),
  pg: () => import('./pg.mjs'),
  idle: () => import('./idle.mjs'),
};
const DEFAULT = ['echo', 'sendmsg', 'sync', 'fanout', 'startup'];

const x = (r) => (typeof r === 'number' && Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');
const ms = (v) => (typeof v === 'number' ? `${v.toFixed(1)} ms` : '-');
const ok = (met) => (met ? 'met' : 'NOT met');
/** One line per issue 18 goal a bench's result speaks to. */
const GOALS = {
  echo: (o) => [
    ['echo host/bare >= 1.0', x(o.ratios?.['host/bare']?.medianPairedRatio), o.goal?.met],
    ['echo host/hop >= 0.7', x(o.ratios?.['host/hop']?.medianPairedRatio), o.hopGoal?.met],
    ['  (hop/bare, context)', x(o.ratios?.['hop/bare']?.medianPairedRatio), undefined],
    [
      '  server CPU us/req bare / hop / host',
      ['bare', 'hop', 'host'].map((s) => o.summary?.[s]?.cpuUsPerReq?.toFixed(1) ?? '-').join(' / '),
      undefined,
    ],
  ],
  sendmsg: (o) => [['sendmsg (FULL)/bare >= 0.5', x(o.ratios?.full?.medianPaired), o.goal?.met]],
  sync: (o) => [['sync(100)/bare >= 0.2', x(o.medianPairedRatio), o.goal?.met]],
  fanout: (o) => [
    ['500-member fan-out/raw inserts >= 4x', x(o.goals?.rawRatio?.ratio), o.goals?.rawRatio?.met],
    ['last answer p99, all holding <= 100 ms', ms(o.goals?.lagAllP99?.p99), o.goals?.lagAllP99?.met],
  ],
  pg: (o) => (o.goals ?? []).map((g) => [(o.dryRun ? '(dry run) ' : '') + g.what, g.figure, g.met]),
  startup: (o) => [
    ['startup 20 CGIs/floor time <= 1.5x', x(o.summary?.readyRatio), o.goal?.readyRatioMet],
    ['startup RSS/floor <= 1.2x', x(o.summary?.rssRatio), o.goal?.rssRatioMet],
  ],
};

const args = process.argv.slice(2);
const firstFlag = args.findIndex((x) => x.startsWith('-'));
const names = firstFlag < 0 ? args : args.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : args.slice(firstFlag);
const unknown = names.filter((n) => !Object.hasOwn(BENCHES, n));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}

const failed = [];
const goals = [];
for (const name of names.length ? names : DEFAULT) {
  console.log(`\n=== ${name} ===`);
  try {
    const mod = await BENCHES[name]();
    const out = await mod.main(flags);
    if (GOALS[name] && out) goals.push(...GOALS[name](out));
  } catch (err) {
    console.error(`${name} failed:`, err);
    failed.push(name);
  }
}
if (goals.length) {
  console.log('\n=== goals (issue 18), same-run ratios ===');
  const w = Math.max(...goals.map((g) => g[0].length));
  for (const [what, fig, met] of goals) console.log(`${what.padEnd(w)}  ${fig.padStart(9)}  ${met === undefined ? '' : ok(met)}`);
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
