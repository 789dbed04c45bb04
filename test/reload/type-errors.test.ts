/**
 * Hot reload and types: a save that compiles but has type errors is loaded
 * (esbuild strips types; the save is live within a second, as SPEC §5 wants),
 * and its type errors are then reported, in the log and in the admin API
 * (`typeErrors`), from a thread of their own; a save that fixes them says so.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminCgi, startHost, waitFor, writeFile, type RunningHost } from '../helpers/index.js';
import { cgiPath, untilServes as until, versionCgi } from './support.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({ files: { 'demo/typed.ts': versionCgi({ v: 'v1' }) } });
  await until(host, 'typed', 'v1');
});

afterAll(async () => {
  await host?.stop();
});

// A CGI answering {v} whose `v` is declared a number but holds a string: it runs, and it is wrong.
const WRONG = versionCgi({ v: 'v2', head: "const label: number = 'v2';", vExpr: 'String(label)' });
const FIXED = versionCgi({ v: 'v3', head: "const label: string = 'v3';", vExpr: 'label' });

it('loads a save with a type error, then reports the error (log and admin API) with file and line', async () => {
  writeFile(cgiPath(host, 'demo/typed.ts'), WRONG);
  // Loaded: the choice is to serve code that compiles and report its types.
  await until(host, 'typed', 'v2', 10_000);
  const cgi = await waitFor(
    async () => {
      const c = await adminCgi(host, 'typed');
      return c.typeErrors.length > 0 ? c : null;
    },
    90_000,
    250,
  );
  expect(cgi.typeErrors).toEqual([
    {
      file: expect.stringMatching(/demo\/typed\.ts$/),
      line: 2,
      column: 7,
      code: 2322,
      message: "Type 'string' is not assignable to type 'number'.",
    },
  ]);
  const warning = host
    .output()
    .split('\n')
    .find((l) => l.includes('CGI has type errors'));
  expect(JSON.parse(warning!)).toMatchObject({
    level: 'warn',
    cgi: 'typed',
    errors: [expect.stringMatching(/typed\.ts:2:7 - error TS2322: Type 'string' is not assignable to type 'number'\./)],
  });
}, 120_000);

it('says in the log when a CGI refused for a broken save serves again after the fix', async () => {
  writeFile(cgiPath(host, 'demo/typed.ts'), versionCgi({ v: 'broken' }).replace('return { v:', 'return ( { v:'));
  await waitFor(() => host.output().includes('CGI change refused'), 10_000);
  writeFile(cgiPath(host, 'demo/typed.ts'), versionCgi({ v: 'v2b', head: "const label: number = 'v2';" }));
  await until(host, 'typed', 'v2b', 10_000);
  const fixed = host
    .output()
    .split('\n')
    .find((l) => l.includes('CGI fixed'));
  expect(JSON.parse(fixed!)).toMatchObject({ level: 'info', msg: 'CGI fixed: the new version serves', cgi: 'typed' });
}, 60_000);

it('clears them, and says so, once a save fixes them', async () => {
  writeFile(cgiPath(host, 'demo/typed.ts'), FIXED);
  await until(host, 'typed', 'v3', 10_000);
  await waitFor(async () => (await adminCgi(host, 'typed')).typeErrors.length === 0, 90_000, 250);
  await waitFor(() => host.output().includes('CGI type errors fixed'), 10_000);
}, 120_000);
