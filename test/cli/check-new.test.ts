/** `cgihost check` and `cgihost new <group>/<name>` (SPEC §5 CLI). */
// A check type-checks too (TypeScript with zod's types: seconds of CPU, more on a loaded machine).
const CHECK = { timeoutMs: 90_000 };
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, writeCgis } from '../helpers/index.js';

describe('cgihost check', () => {
  it('a good folder: exit 0, every CGI listed ok', async () => {
    const dir = tempDir('cgihost-check-ok-');
    writeCgis(dir, {
      'basic/echo.ts': '@basic/echo.ts',
      'basic/get_cgi.ts': '@basic/get_cgi.ts',
      'helper/_shared.ts': '@helper/_shared.ts',
      'helper/uses_helper.ts': '@helper/uses_helper.ts',
    });
    const r = await runCli(['check', '--cgis-dir', dir], CHECK);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok +basic\/echo\b/m);
    expect(r.stdout).toMatch(/^ok +basic\/get_cgi\b/m);
    expect(r.stdout).toMatch(/^ok +helper\/uses_helper\b/m);
    expect(r.stdout).toMatch(/all 3 CGIs ok, types included/);
  }, 120_000);

  it('a folder with broken CGIs: non-zero exit, each named with why, the good one ok', async () => {
    const dir = tempDir('cgihost-check-bad-');
    writeCgis(dir, {
      'basic/echo.ts': '@basic/echo.ts',
      'load/syntax_error.ts': '@load/syntax_error.ts.txt',
      'load/bad_version.ts': '@load/bad_version.ts',
      'load/throws_at_load.ts': '@load/throws_at_load.ts',
      'load/no_default.ts': '@load/no_default.ts',
      'clash_a/clash.ts': '@clash_a/clash.ts',
      'clash_b/clash.ts': '@clash_b/clash.ts',
    });
    const r = await runCli(['check', '--cgis-dir', dir], CHECK);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/^ok +basic\/echo\b/m);
    expect(out).toMatch(/FAIL +load\/syntax_error .*syntax_error\.ts:8/);
    expect(out).toMatch(/FAIL +load\/bad_version .*apiVersion 2/);
    expect(out).toMatch(/FAIL +load\/throws_at_load .*fixture: refusing to load/);
    expect(out).toMatch(/FAIL +load\/no_default .*defineCgi/);
    expect(out).toMatch(/FAIL +clash_\w\/clash .*already served/);
    expect(out).toMatch(/5 of 7 CGIs failed/);
  }, 120_000);

  it('fails on type errors, naming file, line and column (the code would compile and go live)', async () => {
    const dir = tempDir('cgihost-check-types-');
    writeCgis(dir, {
      'basic/echo.ts': '@basic/echo.ts',
      'demo/wrong_type.ts': TYPE_ERROR_CGI,
      'demo/_helper.ts': 'export const twice = (n: number): number => n * 2;\nexport const bad: string = twice(2);\n',
      'demo/uses_helper.ts': HELPER_USER_CGI,
    });
    const r = await runCli(['check', '--cgis-dir', dir], CHECK);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok +basic\/echo\b/m);
    expect(r.stdout).toMatch(/^FAIL demo\/wrong_type .*1 type error/m);
    expect(r.stdout).toMatch(/wrong_type\.ts:9:11 - error TS2322: Type 'string' is not assignable to type 'number'\./);
    // An error in a helper is reported on the helper (once), and fails the check too.
    expect(r.stdout).toMatch(/^FAIL .*_helper\.ts$/m);
    expect(r.stdout).toMatch(/_helper\.ts:2:14 - error TS2322/);
    expect(r.stdout).toMatch(/^ok +demo\/uses_helper\b/m);
    expect(r.stdout).toMatch(/2 of 3 CGIs failed/);
  }, 120_000);

  it('says "apiVersion must be a number" for apiVersion: "1"', async () => {
    const dir = tempDir('cgihost-check-version-');
    writeCgis(dir, { 'load/string_version.ts': '@load/string_version.ts' });
    const r = await runCli(['check', '--cgis-dir', dir], CHECK);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL load\/string_version .*apiVersion must be a number \(apiVersion: 1\), not "1"/m);
  }, 120_000);

  it('an empty folder: non-zero exit', async () => {
    const r = await runCli(['check', '--cgis-dir', tempDir('cgihost-check-empty-')], CHECK);
    expect(r.code).not.toBe(0);
  });
});

describe('cgihost new', () => {
  it('scaffolds a CGI and its test that cgihost check passes', async () => {
    const dir = tempDir('cgihost-new-');
    const r = await runCli(['new', 'demo/hello', '--cgis-dir', dir]);
    expect(r.code).toBe(0);
    const cgi = join(dir, 'demo/hello.ts');
    const test = join(dir, 'demo/hello.test.ts');
    expect(existsSync(cgi)).toBe(true);
    expect(existsSync(test)).toBe(true);
    expect(readFileSync(cgi, 'utf8')).toMatch(/defineCgi\(/);
    expect(readFileSync(cgi, 'utf8')).toMatch(/apiVersion: 1/);
    const check = await runCli(['check', '--cgis-dir', dir], CHECK);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^ok +demo\/hello\b/m);
    expect(check.stdout).toMatch(/all 1 CGIs ok/);

    // Never overwrites, and refuses a bad name.
    const again = await runCli(['new', 'demo/hello', '--cgis-dir', dir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists/);
    const bad = await runCli(['new', 'Demo/Hello-World', '--cgis-dir', dir]);
    expect(bad.code).toBe(2);
    const none = await runCli(['new', '--cgis-dir', dir]);
    expect(none.code).toBe(2);
  }, 120_000);

  it('warns when the name is taken by a CGI of another group (names are unique across groups)', async () => {
    const dir = tempDir('cgihost-new-taken-');
    writeCgis(dir, { 'account/login.ts': '@basic/echo.ts' });
    const r = await runCli(['new', 'x/login', '--cgis-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: a CGI named "login" exists already \(.*account\/login\.ts\).*x\/login\.ts will be refused/);
    const fresh = await runCli(['new', 'x/fresh_name', '--cgis-dir', dir]);
    expect(fresh.stderr).toBe('');
  }, 60_000);

  it('gives a standalone cgis folder a tsconfig.json with the SDK types, so an editor (tsc here) sees errors as typed', async () => {
    const dir = tempDir('cgihost-new-types-');
    const r = await runCli(['new', 'demo/hello', '--cgis-dir', dir]);
    expect(r.code).toBe(0);
    const tsconfig = join(dir, 'tsconfig.json');
    expect(r.stdout).toContain(`wrote ${tsconfig}`);
    // What an editor does with it: the TypeScript language service reads tsconfig.json. tsc -p is the same check.
    const tsc = (p: string) => runTsc(['-p', p]);
    const clean = await tsc(tsconfig);
    expect(clean.code, clean.stdout).toBe(0);
    const file = join(dir, 'demo/hello.ts');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'return { text: input.text, uid: ctx.uid! };',
        'const n: number = input.text;\n    return { text: n, uid: ctx.uid! };',
      ),
    );
    const broken = await tsc(tsconfig);
    expect(broken.code).not.toBe(0);
    expect(broken.stdout).toMatch(/demo\/hello\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    // Its own tsconfig.json is left alone once the generated mark is gone.
    writeFileSync(tsconfig, '{ "compilerOptions": { "strict": false } }\n');
    await runCli(['new', 'demo/other', '--cgis-dir', dir]);
    expect(readFileSync(tsconfig, 'utf8')).toBe('{ "compilerOptions": { "strict": false } }\n');
  }, 120_000);
});

const TYPE_ERROR_CGI = `import { defineCgi, z } from 'cgihost';

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ text: z.string() }),
  output: z.object({ n: z.number() }),
  handler: (input) => {
    const n: number = input.text;
    return { n };
  },
});
`;

const HELPER_USER_CGI = `import { defineCgi, z } from 'cgihost';
import { twice } from './_helper.ts';

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ n: z.number() }),
  output: z.object({ n: z.number() }),
  handler: (input) => ({ n: twice(input.n) }),
});
`;

/** The repository's TypeScript compiler, as an editor's language service would run it on the folder. */
function runTsc(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolvePromise) => {
    const p = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stdout += c));
    p.on('exit', (code) => resolvePromise({ code, stdout }));
  });
}
