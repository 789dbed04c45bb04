/**
 * The single binary's first step, before any host module is evaluated (it
 * is main.ts's first import): answer --version, write out what cannot run
 * from inside the binary, load the SQLite addon, and point esbuild and the
 * host at the extracted files. Anything in the way ends the process with a
 * message saying what to do.
 */
import { join } from 'node:path';
import { setRuntimePaths } from '../host/runtime-paths.js';
import { cacheRoot, extractAll } from './cache-dir.js';
import { CgiError, HOST_ERROR_EXIT, isHostErrorCode } from '../errors.js';
import { assetReader, readManifest } from './manifest.js';
import { useSqliteAddon } from './sqlite-addon.js';

try {
  const read = assetReader();
  const manifest = readManifest(read);
  if (process.argv.slice(2).includes('--version')) {
    console.log(`cgihost ${manifest.version} (single binary, node ${manifest.node})`);
    process.exit(0);
  }
  const dir = extractAll(cacheRoot(), manifest, read);
  useSqliteAddon(dir, manifest.glibc);
  // Read by esbuild's JavaScript API when it is first evaluated, just after this module.
  process.env.ESBUILD_BINARY_PATH = join(dir, 'esbuild');
  setRuntimePaths({
    workerFile: join(dir, 'worker.cjs'),
    storeThreadFile: join(dir, 'store-thread.mjs'),
    backupThreadFile: join(dir, 'backup-thread.mjs'),
    builtinCgisDir: join(dir, 'cgis'),
    webDir: join(dir, 'web'),
  });
} catch (e) {
  if (!(e instanceof CgiError && isHostErrorCode(e.code))) throw e;
  console.error(`cgihost: ${e.message}`);
  process.exit(HOST_ERROR_EXIT[e.code]);
}
