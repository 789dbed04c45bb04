/**
 * A CGI worker thread's first script (built to dist/worker.cjs). It evaluates
 * the worker bundle beside it (the entry, the SDK and zod: about 530 KB) with
 * V8's code cache that `npm run build` made for it, so a new thread
 * deserialises compiled code instead of parsing and compiling it again
 * (20 threads: about 1.5 s and 16 MB each without the cache, 1.1 s and 11 MB
 * with it, here). A missing or rejected cache (another node binary or other V8
 * flags) only costs that time back.
 *
 * vm.compileFunction, as node's own CommonJS loader does: the same bundle run
 * through vm.Script().runInThisContext() answered requests measurably slower
 * (echo through the host 0.68x bare instead of 0.85x).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compileFunction } from 'node:vm';

const BUNDLE_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

const bundle = join(__dirname, 'worker-bundle.cjs');
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(bundle.replace(/\.cjs$/, '.cache'));
} catch {
  // No cache: compiled from source.
}
const run = compileFunction(readFileSync(bundle, 'utf8'), BUNDLE_PARAMS, { filename: bundle, cachedData });
const mod = { exports: {} };
run.call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, __dirname);
