/**
 * The CGI author's tools from issue 3: `cgihost/testing` (call a CGI in a
 * test, no server), `cgihost new` (its scaffolded test passes as generated)
 * and `cgihost check` (the CI gate: non-zero exit on any broken CGI).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCgi } from 'cgihost/testing';
import { versionCgi } from './support.js';
import { CHECK_TEST_MS, ROOT, runCli, tempDir, writeFile } from '../helpers/index.js';

describe('cgihost/testing loadCgi', () => {
  const dir = tempDir('cgihost-testing-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('calls a CGI as a given user, validating input, and reports its version', async () => {
    const file = join(dir, 'demo', 'greet.ts');
    writeFile(
      file,
      `import { defineCgi, z, CgiError } from 'cgihost';
export default defineCgi({
  apiVersion: 1,
  input: z.object({ name: z.string().min(1) }),
  output: z.object({ hello: z.string(), uid: z.string() }),
  handler(input, ctx) {
    if (input.name === 'nobody') throw new CgiError(404, 'NO_SUCH_USER', 'who?');
    return { hello: input.name, uid: ctx.uid! };
  },
});
`,
    );
    const cgi = await loadCgi(file);
    try {
      expect(cgi.version).toMatch(/^[0-9a-f]{6,}$/);
      expect(cgi.meta).toMatchObject({ apiVersion: 1, method: 'POST', auth: 'user' });
      const ok = await cgi.call({ name: 'ann' }, { uid: 'u-1' });
      expect(ok).toMatchObject({ status: 200, body: { hello: 'ann', uid: 'u-1' } });
      const bad = await cgi.call({ name: '' }, { uid: 'u-1' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_INPUT');
      const missing = await cgi.call({ name: 'nobody' }, { uid: 'u-1' });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NO_SUCH_USER');
    } finally {
      await cgi.close();
    }
  });

  it('refuses to load a broken CGI, saying why', async () => {
    const file = join(dir, 'demo', 'old.ts');
    writeFile(file, versionCgi({ v: 'x', apiVersion: 2 }));
    await expect(loadCgi(file)).rejects.toThrow(/apiVersion/);
  });
});

describe('cgihost new', () => {
  // Inside the project, so that `cgihost/testing` resolves for the scaffolded test as it does for an author's.
  const base = join(ROOT, 'test', '.tmp');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'scaffold-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    // test/.tmp is ours only while a test runs: leave no empty folder behind.
    if (readdirSync(base).length === 0) rmSync(base, { recursive: true, force: true });
  });

  it(
    'scaffolds a CGI and a test, and the generated test passes',
    async () => {
      const cgis = join(dir, 'cgis');
      const r = await runCli(['new', 'shop/hello', '--cgis-dir', cgis]);
      expect(r.code, r.stderr).toBe(0);
      const cgiFile = join(cgis, 'shop', 'hello.ts');
      const testFile = join(cgis, 'shop', 'hello.test.ts');
      expect(existsSync(cgiFile)).toBe(true);
      expect(existsSync(testFile)).toBe(true);
      expect(readFileSync(cgiFile, 'utf8')).toMatch(/defineCgi/);

      // The same name again is refused, not overwritten.
      const again = await runCli(['new', 'shop/hello', '--cgis-dir', cgis]);
      expect(again.code).not.toBe(0);
      // A bad name is refused.
      expect((await runCli(['new', 'shop/Bad-Name', '--cgis-dir', cgis])).code).not.toBe(0);

      // The scaffold is a valid CGI for `check`...
      const check = await runCli(['check', '--cgis-dir', cgis]);
      expect(check.code, check.stdout + check.stderr).toBe(0);

      // ...and its generated test passes under vitest, run on that folder alone.
      const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), '--run', '--root', dir, '--dir', dir], {
          cwd: dir,
          env: { ...process.env, CI: '1', FORCE_COLOR: '0' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (c) => (out += c));
        p.stderr.on('data', (c) => (out += c));
        p.on('exit', (code) => resolve({ code, out }));
      });
      expect(res.code, res.out).toBe(0);
      expect(res.out).toMatch(/2 passed/);
    },
    CHECK_TEST_MS + 60_000,
  );
});

describe('cgihost check', () => {
  it(
    'exits 0 on a good folder and lists every CGI',
    async () => {
      const cgis = tempDir('cgihost-check-good-');
      writeFile(join(cgis, 'a', 'one.ts'), versionCgi({ v: '1' }));
      writeFile(join(cgis, 'a', '_helper.ts'), 'export const x = 1;\n');
      writeFile(join(cgis, 'b', 'two.ts'), versionCgi({ v: '2', auth: 'user' }));
      writeFile(join(cgis, 'b', 'two.canary.ts'), versionCgi({ v: '2c', auth: 'user' }));
      const r = await runCli(['check', '--cgis-dir', cgis]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/one/);
      expect(r.stdout).toMatch(/two/);
      rmSync(cgis, { recursive: true, force: true });
    },
    CHECK_TEST_MS,
  );

  it.each([
    ['a syntax error', versionCgi({ v: 'x' }).replace('return { v:', 'return ( { v:')],
    ['a throw at import', versionCgi({ v: 'x', head: "throw new Error('no');" })],
    ['no defineCgi export', 'export const x = 1;\n'],
    ['apiVersion 2', versionCgi({ v: 'x', apiVersion: 2 })],
  ])(
    'exits non-zero on %s, naming the file',
    async (_kind, source) => {
      const cgis = tempDir('cgihost-check-bad-');
      writeFile(join(cgis, 'a', 'fine.ts'), versionCgi({ v: '1' }));
      writeFile(join(cgis, 'b', 'broken.ts'), source);
      const r = await runCli(['check', '--cgis-dir', cgis]);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull();
      expect(r.stdout + r.stderr).toMatch(/broken\.ts/);
      rmSync(cgis, { recursive: true, force: true });
    },
    CHECK_TEST_MS,
  );

  it(
    'exits non-zero on a name clash across groups',
    async () => {
      const cgis = tempDir('cgihost-check-clash-');
      writeFile(join(cgis, 'a', 'same.ts'), versionCgi({ v: '1' }));
      writeFile(join(cgis, 'b', 'same.ts'), versionCgi({ v: '2' }));
      const r = await runCli(['check', '--cgis-dir', cgis]);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/same/);
      rmSync(cgis, { recursive: true, force: true });
    },
    CHECK_TEST_MS,
  );
});
