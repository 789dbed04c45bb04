// Builds the web chat client (SPEC §7) into dist/web/: web/src/main.tsx
// bundled by esbuild (Preact through esbuild's JSX), its CSS, and the icon,
// all under assets/ with content-hashed names, plus index.html naming them.
// Text files get .gz and .br copies beside them, made once here rather than
// on every request (src/http/web-client.ts serves them).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const COMPRESSED = new Set(['.html', '.js', '.css', '.svg', '.map', '.json', '.webmanifest']);

/** Builds into dist/web (swapped in whole at the end, so a host starting meanwhile sees the old or the new client). */
export async function buildWeb(root) {
  const out = join(root, 'dist', 'web');
  const stage = `${out}.${process.pid}.tmp`;
  rmSync(stage, { recursive: true, force: true });
  const assets = join(stage, 'assets');
  mkdirSync(assets, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: 'web/src/main.tsx' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assets,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const [js, entry] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'web/src/main.tsx') ?? [];
  const css = entry?.cssBundle;
  if (!js || !css) throw new Error('build-web: esbuild produced no JS or CSS bundle');

  const iconSrc = readFileSync(join(root, 'web', 'icon.svg'));
  const icon = `icon-${createHash('sha256').update(iconSrc).digest('hex').slice(0, 10)}.svg`;
  writeFileSync(join(assets, icon), iconSrc);

  const html = readFileSync(join(root, 'web', 'index.html'), 'utf8')
    .replaceAll('%JS%', basename(js))
    .replaceAll('%CSS%', basename(css))
    .replaceAll('%ICON%', icon);
  if (/%[A-Z]+%/.test(html)) throw new Error('build-web: index.html has a placeholder left');
  writeFileSync(join(stage, 'index.html'), html);

  for (const f of listFiles(stage)) {
    if (!COMPRESSED.has(extname(f))) continue;
    const data = readFileSync(f);
    writeFileSync(`${f}.gz`, gzipSync(data, { level: 9 }));
    writeFileSync(
      `${f}.br`,
      brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
    );
  }

  const old = `${out}.${process.pid}.old`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(stage, out);
  rmSync(old, { recursive: true, force: true });

  const size = (f) => readFileSync(join(out, 'assets', basename(f)) + '.gz').length;
  return { js: relative(root, join(out, 'assets', basename(js))), css: basename(css), gzippedBytes: size(js) + size(css) };
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}
