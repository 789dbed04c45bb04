/**
 * Vitest global setup: the tests run the built dist/ (as `npm start` does), so
 * it is rebuilt once per run when its inputs changed, and
 * `npx vitest --run test/x.test.ts` never tests a stale build. The inputs'
 * hash is kept beside the output, so a second vitest run of `npm test` (the
 * binary project) and an unchanged tree skip the ~2 s build.
 *
 * It also starts the run's throwaway PostgreSQL cluster (helpers/postgres.ts)
 * when PostgreSQL is installed and CGIHOST_TEST_PG_URL is not set already,
 * hands its URL to the tests in that variable, and stops it at the end.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from './helpers/paths.js';
import { PG_ERROR_ENV, PG_URL_ENV, startTestCluster } from './helpers/postgres.js';

/** What scripts/build.mjs reads: the sources, the build script, and the packages it bundles (zod) or externalises. */
const INPUTS = ['src', 'web', 'scripts/build.mjs', 'scripts/build-web.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'];
/** What it writes that the tests need (chunks beside them carry a hash in their names). */
const OUTPUTS = [
  'cli.js',
  'index.js',
  'testing.js',
  'store-thread.js',
  'backup-thread.js',
  'typecheck-worker.js',
  'worker.cjs',
  'worker-bundle.cjs',
  'worker-bundle.cache',
  'web/index.html',
];
const STAMP = join(ROOT, 'dist', '.inputs-sha256');

function inputsHash(): string {
  const h = createHash('sha256');
  const add = (rel: string) => {
    const abs = join(ROOT, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs).sort()) add(join(rel, e));
    } else {
      h.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
    }
  };
  for (const p of INPUTS) add(p);
  return h.digest('hex');
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  // A vitest run rooted elsewhere (a scaffolded CGI folder under test/.tmp) that picked up this config does not build.
  if (resolve(project.config.root) !== ROOT) return undefined;
  build();
  if (process.env[PG_URL_ENV]) return undefined;
  const t0 = performance.now();
  let cluster;
  try {
    cluster = await startTestCluster();
  } catch (e) {
    // The PostgreSQL tests fail with this (helpers/postgres.ts requirePg); the rest of the run goes on.
    process.env[PG_ERROR_ENV] = (e as Error).message;
    console.error(`global setup: the PostgreSQL test cluster did not start: ${(e as Error).message}`);
    return undefined;
  }
  if (!cluster) return undefined;
  // The test processes are forked after the global setup: they inherit it.
  process.env[PG_URL_ENV] = cluster.url;
  console.log(`global setup: PostgreSQL test cluster at ${cluster.url} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return () => cluster.stop();
}

function build(): void {
  const want = inputsHash();
  const fresh = existsSync(STAMP) && readFileSync(STAMP, 'utf8') === want && OUTPUTS.every((f) => existsSync(join(ROOT, 'dist', f)));
  if (fresh) return;
  const t0 = performance.now();
  // --force: the hash says stale; build.mjs's own check (file times) could disagree, e.g. after a tsconfig.json edit.
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--force'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`node scripts/build.mjs failed (${r.signal ?? `exit ${r.status}`}): the tests run dist/`);
  writeFileSync(STAMP, want);
  console.log(`global setup: built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
