// Builds dist/cgihost: one executable that is the whole server (Node 20's
// single executable applications, https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html).
//
//   npm run build:binary  [-- --no-strip] [-- --no-code-cache]
//
// Inside: the node binary (stripped when `strip` is there), the host as one
// CommonJS script (the SEA main), and gzipped assets the binary writes out to
// its cache dir on first start (src/sea/cache-dir.ts): better-sqlite3's addon,
// esbuild's executable (CGIs are compiled with no Node or npm on the machine),
// the CGI worker (a CommonJS bundle with its code cache), the store thread as
// an ES module, the built-in CGIs and the web client.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stage = join(root, 'dist', 'sea');
const assetsDir = join(stage, 'assets');
const out = join(root, 'dist', 'cgihost');
const args = new Set(process.argv.slice(2));
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const t0 = performance.now();
const step = (what) => console.log(`build:binary ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${what}`);

if (process.platform !== 'linux') throw new Error('build:binary builds a Linux binary (the addon and esbuild are Linux ones)');
if (!process.version.startsWith('v20.')) throw new Error(`build:binary needs Node 20 (SEA blob format), not ${process.version}`);

rmSync(stage, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

// 1. dist/ as `npm run build` makes it: the binary serves the very same worker bundle.
// Rebuilt only when older than src/: under `npm test` it is fresh, and other
// test files are running dist/cli.js while this builds.
if (
  Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'web'))) > mtimeOf(join(root, 'dist', 'worker-bundle.cjs')) ||
  !existsSync(join(root, 'dist', 'web', 'index.html'))
) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  step('dist/ built');
}

// 2. The binary's own bundles: everything inlined, better-sqlite3 given its addon from the cache dir.
const sqliteFromCacheDir = {
  name: 'better-sqlite3-from-cache-dir',
  setup(b) {
    const shim = join(root, 'src', 'sea', 'better-sqlite3.ts');
    b.onResolve({ filter: /^better-sqlite3$/ }, (a) => (a.importer === shim ? undefined : { path: shim }));
  },
};
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  plugins: [sqliteFromCacheDir],
  // better-sqlite3 requires `bindings` only when given no nativeBinding: never here.
  external: ['bindings'],
};
await Promise.all([
  // The SEA main must be a CommonJS script; import.meta.url stands for the binary itself.
  build({
    ...common,
    entryPoints: ['src/sea/main.ts'],
    outfile: join(stage, 'main.cjs'),
    format: 'cjs',
    define: { 'import.meta.url': '__cgihostMetaUrl' },
    banner: { js: 'var __cgihostMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  }),
  // A CGI worker's ctx.kv and sync reads (loaded from beside the worker bundle), with the addon from the cache dir.
  build({
    ...common,
    entryPoints: ['src/worker/sqlite-reads.ts'],
    outfile: join(stage, 'worker-sqlite.cjs'),
    format: 'cjs',
    define: { 'import.meta.url': '__cgihostMetaUrl' },
    banner: { js: 'var __cgihostMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  }),
  // The store thread is started from its file in the cache dir, so an ES module, with undici inside.
  build({
    ...common,
    entryPoints: ['src/store/thread.ts'],
    outfile: join(stage, 'store-thread.mjs'),
    format: 'esm',
    banner: {
      js: "import { createRequire as __cgihostCreateRequire } from 'node:module'; const require = __cgihostCreateRequire(import.meta.url);",
    },
  }),
  // The backup thread (cgihost backup through the admin API), likewise.
  build({
    ...common,
    entryPoints: ['src/store/backup-thread.ts'],
    outfile: join(stage, 'backup-thread.mjs'),
    format: 'esm',
    banner: {
      js: "import { createRequire as __cgihostCreateRequire } from 'node:module'; const require = __cgihostCreateRequire(import.meta.url);",
    },
  }),
]);
step('bundles built');

// 3. The files the binary writes out, as gzipped assets, and their manifest.
const addonPath = require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
const esbuildBin = join(
  dirname(require.resolve('esbuild/package.json')),
  '..',
  '@esbuild',
  `${process.platform}-${process.arch}`,
  'bin',
  'esbuild',
);
const files = [
  { path: 'better_sqlite3.node', from: addonPath, mode: 0o755 },
  { path: 'esbuild', from: esbuildBin, mode: 0o755 },
  // The CGI worker: its boot script, the bundle and the bundle's V8 code cache (same node binary).
  // ...and ctx.fetch's undici, which a worker loads from beside its bundle on first use.
  ...['worker.cjs', 'worker-bundle.cjs', 'worker-bundle.cache', 'worker-fetch.cjs'].map((f) => ({
    path: f,
    from: join(root, 'dist', f),
    mode: 0o644,
  })),
  { path: 'store-thread.mjs', from: join(stage, 'store-thread.mjs'), mode: 0o644 },
  { path: 'worker-sqlite.cjs', from: join(stage, 'worker-sqlite.cjs'), mode: 0o644 },
  { path: 'backup-thread.mjs', from: join(stage, 'backup-thread.mjs'), mode: 0o644 },
  ...listBuiltinCgis(join(root, 'cgis')).map((f) => ({ path: `cgis/${f}`, from: join(root, 'cgis', f), mode: 0o644 })),
  // The web client served at `/` (SPEC §7), with its precompressed copies.
  ...listFiles(join(root, 'dist', 'web')).map((f) => ({ path: `web/${f}`, from: join(root, 'dist', 'web', f), mode: 0o644 })),
];
const hash = createHash('sha256');
const entries = files.map((f, i) => {
  const data = readFileSync(f.from);
  hash.update(f.path).update('\0').update(data).update('\0');
  const asset = `f${i}`;
  writeFileSync(join(assetsDir, asset), gzipSync(data, { level: 9 }));
  return { path: f.path, asset, size: data.length, mode: f.mode, gzip: true };
});
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const manifest = {
  version,
  id: `${version}-${hash.digest('hex').slice(0, 16)}`,
  node: process.version,
  glibc: neededGlibc(readFileSync(addonPath)),
  files: entries,
};
writeFileSync(join(assetsDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
step(`assets staged (${entries.length} files, id ${manifest.id}, addon needs glibc ${manifest.glibc})`);

// 4. The SEA blob.
const seaConfig = {
  main: join(stage, 'main.cjs'),
  output: join(stage, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  // V8's code cache for the main script: measured start-up in the README.
  useCodeCache: !args.has('--no-code-cache'),
  assets: Object.fromEntries(['manifest.json', ...entries.map((e) => e.asset)].map((k) => [k, join(assetsDir, k)])),
};
writeFileSync(join(stage, 'sea-config.json'), JSON.stringify(seaConfig, null, 1));
execFileSync(process.execPath, ['--experimental-sea-config', join(stage, 'sea-config.json')], { stdio: 'inherit' });
step('SEA blob written');

// 5. A copy of node, stripped, with the blob injected.
const tmp = `${out}.${process.pid}.tmp`;
copyFileSync(process.execPath, tmp);
chmodSync(tmp, 0o755);
if (!args.has('--no-strip')) {
  try {
    execFileSync('strip', ['--strip-all', tmp], { stdio: 'inherit' });
    step('node stripped');
  } catch (e) {
    console.log(`build:binary: not stripped (${e.code === 'ENOENT' ? 'no strip on this machine' : e.message})`);
  }
}
// postject's CLI in a child: its ELF reader warns about every note section
// of node's binary ("Can't find string offset for section name '.note…'"), harmlessly.
const injected = spawnSync(
  process.execPath,
  [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', seaConfig.output, '--sentinel-fuse', SEA_FUSE],
  { encoding: 'utf8' },
);
const noise = /^warning: Can't find string offset for section name '\.note[^']*'$/;
const said = `${injected.stdout}${injected.stderr}`.split('\n').filter((l) => l.trim() && !noise.test(l));
if (injected.status !== 0) throw new Error(`postject failed (${injected.status}):\n${said.join('\n')}`);
for (const l of said) console.log(`postject: ${l}`);
renameSync(tmp, out);
step(`${relative(root, out)}: ${(statSync(out).size / 1e6).toFixed(1)} MB`);

function mtimeOf(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

function newestMtime(dir) {
  return Math.max(...readdirSync(dir, { recursive: true }).map((f) => mtimeOf(join(dir, f))));
}

/** Every file under dir, as /-separated relative paths. */
function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) =>
      relative(dir, join(e.parentPath ?? e.path, e.name))
        .split(sep)
        .join('/'),
    )
    .sort();
}

/** Every CGI and helper of the built-in cgis folder, tests left out. */
function listBuiltinCgis(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs|json)$/.test(e.name) && !/\.test\.ts$/.test(e.name))
    .map((e) =>
      relative(dir, join(e.parentPath ?? e.path, e.name))
        .split(sep)
        .join('/'),
    )
    .sort();
}

/** The newest GLIBC_x.y symbol version the addon references (its .gnu.version_r names them). */
function neededGlibc(elf) {
  let best = null;
  for (const m of elf.toString('latin1').matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v = [Number(m[1]), Number(m[2])];
    if (!best || v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
  }
  return best ? `${best[0]}.${best[1]}` : null;
}
