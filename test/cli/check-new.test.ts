/** `cgihost check` and `cgihost new <group>/<name>` (SPEC §5 CLI). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir, writeCgis } from '../helpers/index.js';

describe('cgihost check', () => {
  it('a good folder: exit 0, every CGI listed ok', async () => {
    const dir = tempDir('cgihost-check-ok-');
    writeCgis(dir, {
      'basic/echo.ts': '@basic/echo.ts',
      'basic/get_cgi.ts': '@basic/get_cgi.ts',
      'helper/_shared.ts': '@helper/_shared.ts',
      'helper/uses_helper.ts': '@helper/uses_helper.ts',
    });
    const r = await runCli(['check', '--cgis-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok +basic\/echo\b/m);
    expect(r.stdout).toMatch(/^ok +basic\/get_cgi\b/m);
    expect(r.stdout).toMatch(/^ok +helper\/uses_helper\b/m);
    expect(r.stdout).toMatch(/all 3 CGIs ok/);
  });

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
    const r = await runCli(['check', '--cgis-dir', dir]);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/^ok +basic\/echo\b/m);
    expect(out).toMatch(/FAIL +load\/syntax_error .*syntax_error\.ts:8/);
    expect(out).toMatch(/FAIL +load\/bad_version .*apiVersion 2/);
    expect(out).toMatch(/FAIL +load\/throws_at_load .*fixture: refusing to load/);
    expect(out).toMatch(/FAIL +load\/no_default .*defineCgi/);
    expect(out).toMatch(/FAIL +clash_\w\/clash .*already served/);
    expect(out).toMatch(/5 of 7 CGIs failed/);
  });

  it('an empty folder: non-zero exit', async () => {
    const r = await runCli(['check', '--cgis-dir', tempDir('cgihost-check-empty-')]);
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
    const check = await runCli(['check', '--cgis-dir', dir]);
    expect(check.code).toBe(0);
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
  });
});
