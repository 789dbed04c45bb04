// Bundles the host into dist/: the CLI and host (main thread), the CGI worker
// entry (with the SDK and zod inside, so a CGI anywhere on disk resolves
// `cgihost` and `zod` with nothing installed beside it), and the store thread.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';

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
  banner: { js: "import { createRequire as __cgihostCreateRequire } from 'node:module'; const require = __cgihostCreateRequire(import.meta.url);" },
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
          return name === 'en' ? `export { default as en } from ${JSON.stringify(join(dirname(path), 'en.js'))};` : `export const ${name} = (...a) => require(${abs})(...a);`;
        })
        .join('\n');
      return { contents, loader: 'js', resolveDir: dirname(path) };
    });
  },
};

await Promise.all([
  // The host keeps its npm dependencies external (native addon, esbuild binary).
  build({ ...common, entryPoints: { cli: 'src/cli.ts', 'store-thread': 'src/store/thread.ts', testing: 'src/testing.ts' }, outdir: 'dist', packages: 'external' }),
  // The worker and the SDK are self-contained: zod is bundled in. Every CGI
  // worker parses this bundle, so it is minified (names kept for stack traces).
  build({ ...common, entryPoints: { worker: 'src/worker/entry.ts', index: 'src/index.ts' }, outdir: 'dist', minifyWhitespace: true, minifySyntax: true, plugins: [zodLocalesOnDemand] }),
]);
