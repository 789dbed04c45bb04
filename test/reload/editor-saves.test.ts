/**
 * Editors do not write a file in one go: some truncate then write, some write
 * a temp file and rename it over the original, vim moves the original aside
 * first. Whatever the steps, the final content is what serves, no error from
 * a half-written state remains, and no request fails meanwhile.
 */
import { renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgiPath, probe, SETTLE_MS, untilServes, versionCgi } from './support.js';
import { adminCgi, type RunningHost, sleep, startHost, waitFor, writeFile } from '../helpers/index.js';

/** Calls `name` back to back until stopped; collects every answer that is not a 200. */
function background(host: RunningHost, name: string) {
  let running = true;
  const failures: string[] = [];
  let count = 0;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const p = await probe(host, name).catch((e: Error) => ({ status: -1, code: e.message }) as const);
      count++;
      if (p.status !== 200) failures.push(`${p.status} ${p.code}`);
    }
  });
  return {
    /** Answers so far (any status). */
    count: () => count,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { failures, count };
    },
  };
}

describe('editor-style saves', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost();
  });
  afterAll(async () => {
    await host?.stop();
  });

  const noErrorLeft = async (name: string) => {
    // A late event from a half-written state would come before a later save's in the same folder: once that
    // later file serves, whatever the half-written moments set off has been applied. Then look.
    writeFile(cgiPath(host, `ed/${name}_after.ts`), versionCgi({ v: 'after' }));
    await untilServes(host, `${name}_after`, 'after', SETTLE_MS);
    const s = await adminCgi(host, name);
    expect(s.lastError, JSON.stringify(s.lastError)).toBeNull();
    expect(s.state).toBe('ready');
  };

  it('truncate, then write, in quick succession: the final content serves, no error remains', async () => {
    const file = cgiPath(host, 'ed/trunc.ts');
    writeFile(file, versionCgi({ v: 'a' }));
    await untilServes(host, 'trunc', 'a');
    const load = background(host, 'trunc');
    truncateSync(file, 0);
    // The point of this test: the write follows within the debounce, as an editor's does.
    await sleep(5);
    writeFileSync(file, versionCgi({ v: 'b' }));
    await untilServes(host, 'trunc', 'b', SETTLE_MS);
    await noErrorLeft('trunc');
    const { failures, count } = await load.stop();
    expect(failures.slice(0, 5), `${failures.length} of ${count} failed`).toEqual([]);
  });

  it('truncate, a pause longer than the debounce, then write: the final content serves, no error remains', async () => {
    const file = cgiPath(host, 'ed/slowtrunc.ts');
    writeFile(file, versionCgi({ v: 'a' }));
    await untilServes(host, 'slowtrunc', 'a');
    truncateSync(file, 0);
    // The host acts on the empty file (and refuses it) before the bytes come.
    await waitFor(async () => (await adminCgi(host, 'slowtrunc'))?.lastError, SETTLE_MS);
    expect((await probe(host, 'slowtrunc')).v).toBe('a');
    writeFileSync(file, versionCgi({ v: 'b' }));
    await untilServes(host, 'slowtrunc', 'b', SETTLE_MS);
    await noErrorLeft('slowtrunc');
  });

  it('a save of unchanged content by truncate, pause, write leaves no error behind', async () => {
    // `:w` on an unmodified buffer: same bytes, same version, nothing to swap; but the empty moment must not stick.
    const file = cgiPath(host, 'ed/nochange.ts');
    const text = versionCgi({ v: 'same' });
    writeFile(file, text);
    const before = await untilServes(host, 'nochange', 'same');
    truncateSync(file, 0);
    // The host has seen the empty file (and refused it) before the bytes come back.
    await waitFor(async () => (await adminCgi(host, 'nochange'))?.lastError, SETTLE_MS);
    writeFileSync(file, text);
    // The host has seen the bytes come back: the refusal is cleared.
    await waitFor(async () => (await adminCgi(host, 'nochange'))?.lastError === null, SETTLE_MS);
    expect(await probe(host, 'nochange')).toMatchObject({ status: 200, v: 'same', version: before.version });
    await noErrorLeft('nochange');
  });

  it('write a temp file, then rename it over the CGI: the final content serves, no request fails', async () => {
    const file = cgiPath(host, 'ed/atomic.ts');
    writeFile(file, versionCgi({ v: 'a' }));
    await untilServes(host, 'atomic', 'a');
    const load = background(host, 'atomic');
    await waitFor(() => load.count() >= 4);
    for (const v of ['b', 'c']) {
      const tmp = cgiPath(host, `ed/.atomic.ts.${process.pid}.tmp`);
      writeFileSync(tmp, versionCgi({ v }));
      renameSync(tmp, file);
      await untilServes(host, 'atomic', v, SETTLE_MS);
    }
    await noErrorLeft('atomic');
    const { failures, count } = await load.stop();
    expect(failures.slice(0, 5), `${failures.length} of ${count} failed`).toEqual([]);
  });

  it('vim-style: move the original aside, write the new file, delete the backup; no request fails', async () => {
    const file = cgiPath(host, 'ed/vimmed.ts');
    writeFile(file, versionCgi({ v: 'a' }));
    await untilServes(host, 'vimmed', 'a');
    const load = background(host, 'vimmed');
    await waitFor(() => load.count() >= 4);
    const backup = `${file}~`;
    renameSync(file, backup);
    writeFileSync(file, versionCgi({ v: 'b' }));
    rmSync(backup);
    await untilServes(host, 'vimmed', 'b', SETTLE_MS);
    await noErrorLeft('vimmed');
    const { failures, count } = await load.stop();
    expect(failures.slice(0, 5), `${failures.length} of ${count} failed`).toEqual([]);
  });

  it('files that are not CGIs (temp, backup, dot, test files) never become CGIs', async () => {
    writeFile(cgiPath(host, 'ed/notes.ts~'), versionCgi({ v: 'x' }));
    writeFile(cgiPath(host, 'ed/.hidden.ts'), versionCgi({ v: 'x' }));
    writeFile(cgiPath(host, 'ed/thing.test.ts'), "import { it } from 'vitest'; it('x', () => {});\n");
    writeFile(cgiPath(host, 'ed/marker.ts'), versionCgi({ v: 'marker' }));
    await untilServes(host, 'marker', 'marker');
    // A witness written after the marker has served: the files before it have had a whole load's time since.
    writeFile(cgiPath(host, 'ed/marker2.ts'), versionCgi({ v: 'marker2' }));
    await untilServes(host, 'marker2', 'marker2', SETTLE_MS);
    for (const name of ['notes', 'hidden', '_hidden', 'thing', 'thing_test']) {
      expect((await probe(host, name)).code, name).toBe('NO_SUCH_CGI');
    }
    await waitFor(async () => (await adminCgi(host, 'marker'))?.state === 'ready');
  });
});
