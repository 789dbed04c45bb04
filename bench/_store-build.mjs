// Bundles the store for the store benchmarks, so they run with plain node. The
// bundles live under node_modules/.cache so that better-sqlite3 and undici resolve.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'node_modules/.cache/cgihost-bench');

async function bundle(entry, name) {
  mkdirSync(OUT, { recursive: true });
  const outfile = join(OUT, name);
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/** The Store class, to drive in this thread. */
export async function loadStore() {
  return import(pathToFileURL(await bundle('src/store/store.ts', 'store.mjs')).href);
}

/** StoreHost, and the store thread bundle it starts. */
export async function loadStoreHost() {
  const threadFile = await bundle('src/store/thread.ts', 'store-thread.mjs');
  const mod = await import(pathToFileURL(await bundle('src/store/host.ts', 'store-host.mjs')).href);
  return { StoreHost: mod.StoreHost, threadFile };
}

export function rate(n, ms) {
  return Math.round(n / (ms / 1000));
}
