/**
 * SPEC §5: a change that does not compile, throws at load, exports no valid
 * defineCgi or declares an unsupported apiVersion is refused: the previous
 * version keeps serving, the error is logged and shown in the admin API.
 * Issue 3 adds a name clash with another group's CGI. Each case breaks a
 * serving CGI, expects the error, then mends it and expects the fix to serve.
 */
import { renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgiPath, probe, SETTLE_MS, untilServes, versionCgi } from './support.js';
import { adminCgi, adminCgis, type RunningHost, startHost, waitFor, writeFile } from '../helpers/index.js';

interface BrokenCase {
  kind: string;
  source: (v: string) => string;
  /** What the admin API's lastError.message must say. */
  message: RegExp;
  /** Text on the line of the fault, when a line is meaningful: lastError.line must point at it. */
  lineOf?: string;
}

const CASES: BrokenCase[] = [
  {
    kind: 'syntax error',
    source: (v) => versionCgi({ v }).replace('return { v:', 'return ( { v:'),
    message: /expected|unexpected/i,
    lineOf: 'return ( { v:',
  },
  {
    kind: 'throw at import',
    source: (v) => versionCgi({ v, head: "throw new Error('refusing to load: bad config');" }),
    message: /refusing to load: bad config/,
    // The line in the author's file, not in the compiled bundle.
    lineOf: 'refusing to load',
  },
  {
    kind: 'no valid defineCgi export',
    source: () => `import { z } from 'cgihost';\nexport const input = z.object({});\nexport function handler() { return {}; }\n`,
    message: /defineCgi/,
  },
  {
    kind: 'default export that is not a defineCgi',
    source: () => `export default { apiVersion: 1, handler: () => ({}) };\n`,
    message: /defineCgi/,
  },
  {
    kind: 'apiVersion 2',
    source: (v) => versionCgi({ v, apiVersion: 2 }),
    message: /apiVersion/,
  },
];

describe('broken saves keep the previous version serving', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost();
  });
  afterAll(async () => {
    await host?.stop();
  });

  it.each(CASES.map((c, i) => ({ ...c, name: `broken${i}` })))('$kind: refused, shown, old version serves; the fix loads', async (c) => {
    const file = cgiPath(host, `demo/${c.name}.ts`);
    writeFile(file, versionCgi({ v: 'good' }));
    const good = await untilServes(host, c.name, 'good');

    const broken = c.source('broken');
    writeFile(file, broken);
    const slot = await waitFor(async () => {
      const s = await adminCgi(host, c.name);
      return s?.lastError ? s : null;
    }, SETTLE_MS);
    expect(slot.lastError.message).toMatch(c.message);
    expect(slot.lastError.file).toMatch(new RegExp(`demo/${c.name}\\.ts$`));
    if (c.lineOf !== undefined) {
      const line = broken.split('\n').findIndex((l) => l.includes(c.lineOf!)) + 1;
      expect(slot.lastError.line, `lastError.line should be ${line} (${slot.lastError.message.split('\n')[0]})`).toBe(line);
    }
    expect(slot.state).toBe('ready');
    expect(slot.version).toBe(good.version);
    // The error is logged too, with the file.
    await waitFor(() => host.output().includes(`${c.name}.ts`) && /refused/.test(host.output()), SETTLE_MS);

    for (let i = 0; i < 5; i++) {
      expect(await probe(host, c.name)).toMatchObject({ status: 200, v: 'good', version: good.version });
    }

    writeFile(file, versionCgi({ v: 'fixed' }));
    const fixed = await untilServes(host, c.name, 'fixed', SETTLE_MS);
    expect(fixed.version).not.toBe(good.version);
    const after = await adminCgi(host, c.name);
    expect(after.lastError).toBeNull();
    expect(after.state).toBe('ready');
  });

  it('reverting a broken save to the exact previous content clears the error', async () => {
    // The mend is byte-for-byte the version that is serving: nothing to swap, but the error is gone from disk.
    const file = cgiPath(host, 'demo/revert.ts');
    const original = versionCgi({ v: 'orig' });
    writeFile(file, original);
    const good = await untilServes(host, 'revert', 'orig');
    writeFile(file, original.replace('return { v:', 'return ( { v:'));
    await waitFor(async () => (await adminCgi(host, 'revert'))?.lastError);
    writeFile(file, original);
    await waitFor(async () => (await adminCgi(host, 'revert'))?.lastError === null, SETTLE_MS).catch(async () => {
      throw new Error(`lastError still shown after the file was reverted: ${JSON.stringify((await adminCgi(host, 'revert')).lastError)}`);
    });
    expect(await probe(host, 'revert')).toMatchObject({ status: 200, v: 'orig', version: good.version });
  });

  it('a CGI broken from its first save answers 503 CGI_UNAVAILABLE, shows the error, and serves once fixed', async () => {
    const file = cgiPath(host, 'demo/newborn.ts');
    writeFile(file, versionCgi({ v: 'x', head: "throw new Error('not today');" }));
    const slot = await waitFor(async () => {
      const s = await adminCgi(host, 'newborn');
      return s?.lastError ? s : null;
    }, SETTLE_MS);
    expect(slot.state).toBe('failed');
    expect(slot.lastError.message).toMatch(/not today/);
    const p = await probe(host, 'newborn');
    expect(p).toMatchObject({ status: 503, code: 'CGI_UNAVAILABLE' });
    writeFile(file, versionCgi({ v: 'born' }));
    await untilServes(host, 'newborn', 'born', SETTLE_MS);
    expect((await adminCgi(host, 'newborn')).lastError).toBeNull();
  });

  it('a name clash with another group is refused (listed in refused), the first keeps serving; renaming the newcomer loads it', async () => {
    writeFile(cgiPath(host, 'clasha/dup.ts'), versionCgi({ v: 'from-a' }));
    const a = await untilServes(host, 'dup', 'from-a');
    const newcomer = cgiPath(host, 'clashb/dup.ts');
    writeFile(newcomer, versionCgi({ v: 'from-b' }));
    const refused = await waitFor(async () => (await adminCgis(host)).refused.find((r) => /clashb\/dup\.ts$/.test(r.file)), SETTLE_MS);
    expect(refused.message).toMatch(/dup/);
    expect(refused.message).toMatch(/unique|already/);
    await waitFor(() => /clashb\/dup\.ts/.test(host.output()), SETTLE_MS);
    for (let i = 0; i < 3; i++) expect(await probe(host, 'dup')).toMatchObject({ status: 200, v: 'from-a', version: a.version });
    const slot = await adminCgi(host, 'dup');
    expect(slot.group).toBe('clasha');

    // A further edit of the clashing file is refused again (a newer refusal is listed), and never overrides.
    writeFile(newcomer, versionCgi({ v: 'from-b-edited' }));
    await waitFor(async () => (await adminCgis(host)).refused.some((r) => /clashb\/dup\.ts$/.test(r.file) && r.at > refused.at), SETTLE_MS);
    expect(await probe(host, 'dup')).toMatchObject({ status: 200, v: 'from-a' });

    renameSync(newcomer, cgiPath(host, 'clashb/dup2.ts'));
    await untilServes(host, 'dup2', 'from-b-edited', SETTLE_MS);
    await waitFor(async () => !(await adminCgis(host)).refused.some((r) => /clashb\/dup\.ts$/.test(r.file)), SETTLE_MS);
    expect(await probe(host, 'dup')).toMatchObject({ status: 200, v: 'from-a' });
  });
});
