// Bundles src/store/store.ts for the store benchmarks, so they run with plain node.
// The bundle lives under node_modules/.cache so that better-sqlite3 and undici resolve.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function loadStore() {
  const outdir = join(ROOT, 'node_modules/.cache/cgihost-bench');
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'store.mjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/store/store.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

export function rate(n, ms) {
  return Math.round(n / (ms / 1000));
}
