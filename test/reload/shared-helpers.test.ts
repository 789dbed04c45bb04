/**
 * Issue 3: files starting with `_` (and folders starting with `_`) are not
 * CGIs; changing one reloads every CGI that imports it.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgiPath, probe, untilServes, versionCgi } from './support.js';
import { adminCgi, type RunningHost, startHost, waitFor, writeFile } from '../helpers/index.js';

// A helper change redeploys every importer at once (a compile and fresh workers
// each): SPEC §5's 1 s is for a CGI file; a helper gets a looser bound here.
const HELPER_BOUND_MS = 5_000;

const helper = (word: string) => `export function word(): string {\n  return ${JSON.stringify(word)};\n}\n`;

describe('shared helpers', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({
      files: {
        // A helper beside its two importers.
        'shop/_shared.ts': helper('red'),
        'shop/sa.ts': versionCgi({ v: '', head: "import { word } from './_shared.ts';", vExpr: "'sa-' + word()" }),
        'shop/sb.ts': versionCgi({ v: '', head: "import { word } from './_shared.js';", vExpr: "'sb-' + word()" }),
        // A helper folder, imported from two groups, through a second helper.
        '_lib/deep.ts': helper('one'),
        '_lib/text.ts': "import { word } from './deep.ts';\nexport const tag = (s: string) => s + '-' + word();\n",
        'north/la.ts': versionCgi({ v: '', head: "import { tag } from '../_lib/text.ts';", vExpr: "tag('la')" }),
        'south/lb.ts': versionCgi({ v: '', head: "import { tag } from '../_lib/text.ts';", vExpr: "tag('lb')" }),
      },
    });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('helpers are not CGIs', async () => {
    await untilServes(host, 'sa', 'sa-red');
    for (const name of ['_shared', 'shared', 'text', 'deep', '_lib']) expect((await probe(host, name)).code, name).toBe('NO_SUCH_CGI');
  });

  it('changing `_shared.ts` reloads both CGIs that import it', async () => {
    const a = await untilServes(host, 'sa', 'sa-red');
    const b = await untilServes(host, 'sb', 'sb-red');
    writeFile(cgiPath(host, 'shop/_shared.ts'), helper('blue'));
    const [a2, b2] = await Promise.all([
      untilServes(host, 'sa', 'sa-blue', HELPER_BOUND_MS),
      untilServes(host, 'sb', 'sb-blue', HELPER_BOUND_MS),
    ]);
    expect(a2.version).not.toBe(a.version);
    expect(b2.version).not.toBe(b.version);
  });

  it('changing a helper in `_lib/` (even one imported only through another helper) reloads its importers in every group', async () => {
    const a = await untilServes(host, 'la', 'la-one');
    const b = await untilServes(host, 'lb', 'lb-one');
    writeFile(cgiPath(host, '_lib/deep.ts'), helper('two'));
    const [a2, b2] = await Promise.all([
      untilServes(host, 'la', 'la-two', HELPER_BOUND_MS),
      untilServes(host, 'lb', 'lb-two', HELPER_BOUND_MS),
    ]);
    expect(a2.version).not.toBe(a.version);
    expect(b2.version).not.toBe(b.version);
    // The CGI that does not import it is untouched.
    expect((await probe(host, 'sa')).status).toBe(200);
  });

  it('a broken helper is refused for each importer (old versions keep serving); fixing it loads both', async () => {
    await untilServes(host, 'la', 'la-two');
    const before = await probe(host, 'la');
    writeFile(cgiPath(host, '_lib/deep.ts'), 'export function word(: string {\n');
    const s = await waitFor(async () => {
      const x = await adminCgi(host, 'la');
      return x?.lastError ? x : null;
    }, HELPER_BOUND_MS);
    expect(s.lastError.file).toMatch(/_lib\/deep\.ts$/);
    expect(s.lastError.line).toBe(1);
    expect(await probe(host, 'la')).toMatchObject({ status: 200, v: 'la-two', version: before.version });
    expect(await probe(host, 'lb')).toMatchObject({ status: 200, v: 'lb-two' });
    writeFile(cgiPath(host, '_lib/deep.ts'), helper('three'));
    await Promise.all([untilServes(host, 'la', 'la-three', HELPER_BOUND_MS), untilServes(host, 'lb', 'lb-three', HELPER_BOUND_MS)]);
    expect((await adminCgi(host, 'la')).lastError).toBeNull();
  });

  it('deleting an imported helper is refused (old version serves); putting it back loads', async () => {
    writeFile(cgiPath(host, 'gone/_h.ts'), helper('here'));
    writeFile(cgiPath(host, 'gone/usesh.ts'), versionCgi({ v: '', head: "import { word } from './_h.ts';", vExpr: 'word()' }));
    const before = await untilServes(host, 'usesh', 'here');
    rmSync(cgiPath(host, 'gone/_h.ts'));
    await waitFor(async () => (await adminCgi(host, 'usesh'))?.lastError, HELPER_BOUND_MS);
    expect(await probe(host, 'usesh')).toMatchObject({ status: 200, v: 'here', version: before.version });
    writeFile(cgiPath(host, 'gone/_h.ts'), helper('back'));
    await untilServes(host, 'usesh', 'back', HELPER_BOUND_MS);
  });

  it('a CGI saved before the helper it imports exists loads once the helper is written', async () => {
    writeFile(cgiPath(host, 'later/early.ts'), versionCgi({ v: '', head: "import { word } from './_later.ts';", vExpr: 'word()' }));
    await waitFor(async () => (await adminCgi(host, 'early'))?.lastError, HELPER_BOUND_MS);
    expect((await probe(host, 'early')).status).toBe(503);
    writeFile(cgiPath(host, 'later/_later.ts'), helper('arrived'));
    await untilServes(host, 'early', 'arrived', HELPER_BOUND_MS);
  });

  it('a serving CGI edited to import a new, broken helper loads once that helper is fixed', async () => {
    writeFile(cgiPath(host, 'edit/ed.ts'), versionCgi({ v: 'plain' }));
    const plain = await untilServes(host, 'ed', 'plain');
    writeFile(cgiPath(host, 'edit/_fresh.ts'), 'export function word(: string {\n');
    writeFile(cgiPath(host, 'edit/ed.ts'), versionCgi({ v: '', head: "import { word } from './_fresh.ts';", vExpr: 'word()' }));
    await waitFor(async () => (await adminCgi(host, 'ed'))?.lastError, HELPER_BOUND_MS);
    expect(await probe(host, 'ed')).toMatchObject({ status: 200, v: 'plain', version: plain.version });
    writeFile(cgiPath(host, 'edit/_fresh.ts'), helper('fresh'));
    await untilServes(host, 'ed', 'fresh', HELPER_BOUND_MS);
  });
});
