// The bench runner: `npm run bench` (echo + startup), or by name, with flags
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
};
const DEFAULT = ['echo', 'startup'];

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
for (const name of names.length ? names : DEFAULT) {
  console.log(`\n=== ${name} ===`);
  try {
    const mod = await BENCHES[name]();
    await mod.main(flags);
  } catch (err) {
    console.error(`${name} failed:`, err);
    failed.push(name);
  }
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
