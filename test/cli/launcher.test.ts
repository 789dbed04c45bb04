/**
 * The `cgihost` command (bin/cgihost.js, which `npm start`, `npm run dev`,
 * `npm run check` and `npm run cgihost` run too) starts node in place of
 * itself with glibc's mmap threshold fixed, so that the large Buffers of a CGI
 * worker terminated over its memory bound go back to the system (see
 * test/host/memory.test.ts and README "Memory").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ROOT, startHost, type RunningHost } from '../helpers/index.js';

let host: RunningHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

function environ(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

it('runs the host as one node process with MALLOC_MMAP_THRESHOLD_=131072', async () => {
  host = await startHost({ config: { watch: false }, env: { MALLOC_MMAP_THRESHOLD_: '' } });
  const pid = host.proc.pid!;
  // exec: the process spawned is node itself, not a shell waiting for it.
  expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('node');
  expect(environ(pid).MALLOC_MMAP_THRESHOLD_).toBe('131072');
});

it("keeps the user's own setting", async () => {
  host = await startHost({ config: { watch: false }, env: { MALLOC_MMAP_THRESHOLD_: '262144' } });
  expect(environ(host.proc.pid!).MALLOC_MMAP_THRESHOLD_).toBe('262144');
});

it('a build is skipped while dist/ is newer than its sources (npm run cgihost -- canary … builds first)', async () => {
  // The suite built dist/ before it started.
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--check'], { encoding: 'utf8' });
  expect({ status: r.status, out: r.stdout.trim() }).toEqual({ status: 0, out: 'dist/ is up to date' });
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(scripts.cgihost).toBe('node scripts/build.mjs && bin/cgihost.js');
});

it('is what the npm scripts run', () => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const name of ['start', 'dev', 'check', 'cgihost']) expect(scripts[name], name).toMatch(/(^|&& )bin\/cgihost\.js\b/);
});
