// Bundles the host into dist/: the CLI and host (main thread), the CGI worker
// entry (with the SDK and zod inside, so a CGI anywhere on disk resolves
// `cgihost` and `zod` with nothing installed beside it), and the store thread.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { compileFunction } from 'node:vm';
import { buildWeb } from './build-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  // ESM bundles that still contain CommonJS code need a require().
  banner: {
    js: "import { createRequire as __cgihostCreateRequire } from 'node:module'; const require = __cgihostCreateRequire(import.meta.url);",
  },
};

/**
 * zod's locale catalogue (about 40 languages) would be evaluated in every CGI
 * worker, about 2 MB each. English stays built in; the others are bundled as
 * lazily initialised modules, evaluated when a CGI first calls one
 * (z.locales.de()).
 */
const zodLocalesOnDemand = {
  name: 'zod-locales-on-demand',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) =>
      /[/\\]zod[/\\]/.test(a.importer) ? { path: join(dirname(a.importer), a.path), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, async ({ path }) => {
      const index = await readFile(path, 'utf8');
      const contents = [...index.matchAll(/default as (\w+) \} from "\.\/([\w-]+)\.js"/g)]
        .map(([, name, file]) => {
          const abs = JSON.stringify(join(dirname(path), `${file}.cjs`));
          return name === 'en'
            ? `export { default as en } from ${JSON.stringify(join(dirname(path), 'en.js'))};`
            : `export const ${name} = (...a) => require(${abs})(...a);`;
        })
        .join('\n');
      return { contents, loader: 'js', resolveDir: dirname(path) };
    });
  },
};

/** Like packages: 'external', except for the named package (bundled). */
function allPackagesExternalBut(name) {
  return {
    name: 'external-but',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (a) =>
        a.path === name || a.path.startsWith(`${name}/`) || a.path.startsWith('node:') ? undefined : { path: a.path, external: true },
      );
    },
  };
}

const selfContained = { minifyWhitespace: true, minifySyntax: true, plugins: [zodLocalesOnDemand] };

// Skip the build when dist/ is newer than every input (`npm run cgihost -- canary …` builds first, and need not
// take two seconds each time). --force builds anyway; --check only says whether a build is needed (exit 1).
const STAMP = join(root, 'dist', '.build-stamp');
const upToDate = existsSync(STAMP) && newestInput() < statSync(STAMP).mtimeMs;
if (process.argv.includes('--check')) {
  console.log(upToDate ? 'dist/ is up to date' : 'dist/ needs a build');
  process.exit(upToDate ? 0 : 1);
}
if (upToDate && !process.argv.includes('--force')) {
  console.log('dist/ is up to date (node scripts/build.mjs --force rebuilds)');
  process.exit(0);
}

/** The newest modification time among the files dist/ is built from. */
function newestInput() {
  let newest = 0;
  const walk = (p) => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else newest = Math.max(newest, s.mtimeMs);
  };
  for (const p of ['src', 'scripts/build.mjs', 'package.json', 'package-lock.json']) if (existsSync(join(root, p))) walk(join(root, p));
  return newest;
}
// Shared code and lazily imported modules (metrics, with prom-client) land in
// chunks beside the entries: in dist/ itself, where runtime-paths.ts looks.
// Old outputs go first (chunk names carry a hash); the binary and its stage stay.
mkdirSync(join(root, 'dist'), { recursive: true });
for (const f of readdirSync(join(root, 'dist'))) if (/\.(js|cjs|cache|map)$/.test(f)) rmSync(join(root, 'dist', f));
await Promise.all([
  // The web chat client served at `/`.
  buildWeb(root),
  // The host keeps its npm dependencies external (native addon, esbuild binary).
  // zod is bundled in too, with its locales on demand: node_modules' zod evaluates all 40 of them.
  build({
    ...common,
    entryPoints: {
      'store-thread': 'src/store/thread.ts',
      'backup-thread': 'src/store/backup-thread.ts',
      testing: 'src/testing.ts',
      'typecheck-worker': 'src/host/typecheck-worker.ts',
    },
    outdir: 'dist',
    splitting: true,
    chunkNames: '[name]-[hash]',
    plugins: [allPackagesExternalBut('zod'), zodLocalesOnDemand],
  }),
  // The CLI and the host's main thread: one CommonJS script (dist/cli.cjs, run by the dist/cli.js written
  // below). Node 20 loads it in ~0.1 s less CPU and ~6 MB less than the same code as ES module chunks (their
  // resolution, linking and translation; bench/README.md, "startup"), at every start and every command.
  build({
    ...common,
    format: 'cjs',
    banner: { js: "const __cgihostImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__cgihostImportMetaUrl' },
    entryPoints: { cli: 'src/cli.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
    plugins: [allPackagesExternalBut('zod'), zodLocalesOnDemand],
  }),
  // The SDK is self-contained: zod is bundled in.
  build({ ...common, ...selfContained, entryPoints: { index: 'src/index.ts' }, outdir: 'dist' }),
  // The CGI worker: a small boot script (worker.cjs) that evaluates the bundle
  // (entry, SDK and zod) from a V8 code cache. Every CGI worker loads that
  // bundle, so it is minified. CommonJS: an ES module cannot take a code cache
  // on Node 20.
  build({
    ...common,
    ...selfContained,
    minifyIdentifiers: true,
    format: 'cjs',
    banner: undefined,
    sourcemap: false,
    entryPoints: { 'worker-bundle': 'src/worker/entry.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
  }),
  // ctx.kv's and sync's reads on a worker's own read-only connection, loaded on its first read; better-sqlite3 stays in node_modules.
  build({
    ...common,
    format: 'cjs',
    banner: undefined,
    sourcemap: false,
    packages: 'external',
    entryPoints: { 'worker-sqlite': 'src/worker/sqlite-reads.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
  }),
  // ctx.fetch: undici and the address checks, loaded by a worker on its first call (src/worker/runtime.ts).
  build({
    ...common,
    ...selfContained,
    format: 'cjs',
    banner: undefined,
    sourcemap: false,
    entryPoints: { 'worker-fetch': 'src/worker/fetch/client.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
  }),
  build({
    ...common,
    format: 'cjs',
    banner: undefined,
    sourcemap: false,
    entryPoints: { worker: 'src/worker/boot.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
  }),
]);
writeFileSync(join(root, 'dist', 'worker-bundle.cache'), codeCache(join(root, 'dist', 'worker-bundle.cjs')));
// dist/cli.js, what bin/cgihost.js, the tests and the benches start: requires the CommonJS CLI directly
// (an ES module import of it would have node scan its megabyte for named exports first).
writeFileSync(
  join(root, 'dist', 'cli.js'),
  "// The cgihost CLI: dist/cli.cjs (scripts/build.mjs says why CommonJS).\nimport { createRequire } from 'node:module';\n\ncreateRequire(import.meta.url)('./cli.cjs');\n",
);
writeFileSync(STAMP, `${new Date().toISOString()}\n`);

/** V8's code cache for the worker bundle, compiled exactly as src/worker/boot.ts compiles it. */
function codeCache(file) {
  const run = compileFunction(readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename: file,
    produceCachedData: true,
  });
  if (!run.cachedDataProduced) throw new Error(`V8 made no code cache for ${file}`);
  return run.cachedData;
}
