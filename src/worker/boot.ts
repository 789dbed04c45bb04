/**
 * A CGI worker thread's first script (built to dist/worker.cjs). It evaluates
 * the worker bundle beside it (the entry, the SDK and zod: about 700 KB) with
 * V8's code cache that `npm run build` made for it, so a new thread
 * deserialises compiled code instead of parsing and compiling it again:
 * measured here, 72 ms -> about 30 ms per thread. A missing or rejected cache
 * (another node binary or other V8 flags) only costs that time back.
 *
 * The build makes the cache by starting this script with `makeCodeCache`: it
 * loads a sample CGI, then answers any further message with the cache.
 */
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';

const bundle = join(__dirname, 'worker-bundle.cjs');
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(bundle.replace(/\.cjs$/, '.cache'));
} catch {
  // No cache: compiled from source.
}
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, __dirname);

if ((workerData as { makeCodeCache?: boolean } | undefined)?.makeCodeCache) {
  // Registered after the entry's own listener: the sample CGI has loaded when this runs.
  parentPort!.on('message', () => parentPort!.postMessage({ codeCache: script.createCachedData(), rejected: script.cachedDataRejected === true }));
}
