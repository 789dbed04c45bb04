/** SPEC §5 Hot reload: adding, changing or deleting a CGI file takes effect within 1 s. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgiPath, probe, RELOAD_BOUND_MS, SETTLE_MS, untilServes, versionCgi } from './support.js';
import { adminCgi, type RunningHost, startHost, waitFor, writeFile } from '../helpers/index.js';

describe('hot reload: add, change, delete', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({ files: { 'demo/other.ts': versionCgi({ v: 'other' }) } });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('serves an added CGI within 1 s, a changed one with a new x-cgi-version within 1 s, and a deleted one 404s within 1 s', async () => {
    expect((await probe(host, 'fresh')).code).toBe('NO_SUCH_CGI');

    const file = cgiPath(host, 'demo/fresh.ts');
    let t0 = Date.now();
    writeFile(file, versionCgi({ v: 'one' }));
    const one = await untilServes(host, 'fresh', 'one', RELOAD_BOUND_MS);
    const addMs = Date.now() - t0;
    expect(one.version).toMatch(/^[0-9a-f]{6,}$/);

    t0 = Date.now();
    writeFile(file, versionCgi({ v: 'two' }));
    const two = await untilServes(host, 'fresh', 'two', RELOAD_BOUND_MS);
    const changeMs = Date.now() - t0;
    expect(two.version).not.toBe(one.version);
    expect(two.version).toMatch(/^[0-9a-f]{6,}$/);

    t0 = Date.now();
    rmSync(file);
    const gone = await waitFor(
      async () => {
        const p = await probe(host, 'fresh');
        return p.status === 404 && p.code === 'NO_SUCH_CGI' ? p : null;
      },
      RELOAD_BOUND_MS,
      10,
    );
    const deleteMs = Date.now() - t0;
    expect(gone!.version).toBeNull();
    expect(await adminCgi(host, 'fresh')).toBeUndefined();
    // The neighbour never noticed.
    expect((await probe(host, 'other')).status).toBe(200);
    console.log(`add ${addMs} ms, change ${changeMs} ms, delete ${deleteMs} ms`);
  });

  it('the same content saved again keeps the same x-cgi-version (the version is a content hash)', async () => {
    const file = cgiPath(host, 'demo/same.ts');
    writeFile(file, versionCgi({ v: 'same' }));
    const a = await untilServes(host, 'same', 'same');
    writeFile(file, versionCgi({ v: 'other-for-a-moment' }));
    await untilServes(host, 'same', 'other-for-a-moment');
    writeFile(file, versionCgi({ v: 'same' }));
    const b = await untilServes(host, 'same', 'same');
    expect(b.version).toBe(a.version);
  });

  it('a CGI deleted and re-added serves again', async () => {
    const file = cgiPath(host, 'demo/phoenix.ts');
    writeFile(file, versionCgi({ v: 'first' }));
    await untilServes(host, 'phoenix', 'first');
    rmSync(file);
    await waitFor(async () => (await probe(host, 'phoenix')).status === 404);
    writeFile(file, versionCgi({ v: 'again' }));
    const p = await untilServes(host, 'phoenix', 'again', SETTLE_MS);
    expect(p.status).toBe(200);
  });
});
