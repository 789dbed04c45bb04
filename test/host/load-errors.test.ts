/**
 * Loading a cgis folder: a CGI that cannot load is not served and says why
 * (admin API and log); a name clash refuses the newer file; helpers are
 * bundled, not served; a folder anywhere on disk resolves `cgihost` and `zod`.
 */
import { existsSync, utimesSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX12 } from './support.js';
import { adminCgis, cgiSummary, expectError, ROOT, type RunningHost, startHost, tempDir, writeCgis } from '../helpers/index.js';

let host: RunningHost;
let cgisDir: string;

beforeAll(async () => {
  cgisDir = tempDir('cgihost-load-');
  writeCgis(cgisDir, {
    'basic/echo.ts': '@basic/echo.ts',
    'load/bad_version.ts': '@load/bad_version.ts',
    'load/no_default.ts': '@load/no_default.ts',
    'load/throws_at_load.ts': '@load/throws_at_load.ts',
    'load/syntax_error.ts': '@load/syntax_error.ts.txt',
    'clash_a/clash.ts': '@clash_a/clash.ts',
    'clash_b/clash.ts': '@clash_b/clash.ts',
    'helper/_shared.ts': '@helper/_shared.ts',
    'helper/uses_helper.ts': '@helper/uses_helper.ts',
    'helper/uses_helper.test.ts': `throw new Error('a test file is never loaded as a CGI');\n`,
    '_lib/util.ts': `export const notACgi = true;\n`,
    'outside/zod_echo.ts': '@outside/zod_echo.ts',
  });
  // clash_a/clash.ts is the older file: it serves, and clash_b/clash.ts is refused.
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(cgisDir, 'clash_a/clash.ts'), old, old);
  host = await startHost({ cgisDir, config: { watch: false } });
});

afterAll(async () => {
  await host?.kill();
});

/** The host's JSON log lines. */
function logLines(): Array<Record<string, unknown>> {
  return host
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const v = JSON.parse(l);
        return typeof v === 'object' && v ? [v] : [];
      } catch {
        return [];
      }
    });
}

function loadFailureLogged(cgi: string): Record<string, unknown> | undefined {
  return logLines().find((l) => l.cgi === cgi && l.level === 'error' && /fail|refus/i.test(String(l.msg)));
}

describe('a CGI that cannot load', () => {
  it('bad_version (apiVersion 2): 503 CGI_UNAVAILABLE, and lastError and the log say apiVersion', async () => {
    expectError(await host.post('bad_version', {}), 503, 'CGI_UNAVAILABLE');
    const s = await cgiSummary(host, 'bad_version');
    expect(s.state).toBe('failed');
    expect(s.version).toBeNull();
    expect(s.lastError?.message).toMatch(/apiVersion 2/);
    expect(s.lastError?.message).toMatch(/supports apiVersion 1/);
    expect(s.lastError?.file).toMatch(/load[/\\]bad_version\.ts$/);
    expect(String(loadFailureLogged('bad_version')?.error)).toMatch(/apiVersion 2/);
  });

  it('no_default: 503, and lastError says it exports no defineCgi', async () => {
    expectError(await host.post('no_default', {}), 503, 'CGI_UNAVAILABLE');
    const s = await cgiSummary(host, 'no_default');
    expect(s.state).toBe('failed');
    expect(s.lastError?.message).toMatch(/defineCgi/);
    expect(String(loadFailureLogged('no_default')?.error)).toMatch(/defineCgi/);
  });

  it('throws_at_load: 503, and lastError has the thrown message and where', async () => {
    expectError(await host.post('throws_at_load', {}), 503, 'CGI_UNAVAILABLE');
    const s = await cgiSummary(host, 'throws_at_load');
    expect(s.state).toBe('failed');
    expect(s.lastError?.message).toMatch(/threw at load/);
    expect(s.lastError?.message).toContain('fixture: refusing to load');
    // Source maps: the stack and the line point into the TypeScript file, at the throw (line 3), not into the compiled code.
    expect(s.lastError?.message).toMatch(/throws_at_load\.ts:3:/);
    expect(s.lastError?.line).toBe(3);
    expect(String(loadFailureLogged('throws_at_load')?.error)).toContain('fixture: refusing to load');
  });

  it('syntax_error: 503, and lastError has the file and the line', async () => {
    expectError(await host.post('syntax_error', {}), 503, 'CGI_UNAVAILABLE');
    const s = await cgiSummary(host, 'syntax_error');
    expect(s.state).toBe('failed');
    expect(s.lastError?.file).toMatch(/load[/\\]syntax_error\.ts$/);
    expect(s.lastError?.line).toBe(8);
    expect(s.lastError?.message).toMatch(/syntax_error\.ts:8/);
    const logged = loadFailureLogged('syntax_error');
    expect(logged?.line).toBe(8);
    expect(String(logged?.file)).toMatch(/syntax_error\.ts$/);
  });

  it('does not stop the others: echo answers', async () => {
    const res = await host.post('echo', { text: 'ok' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ echo: 'ok' });
  });
});

describe('a name clash across groups', () => {
  it('the older file serves', async () => {
    const res = await host.post('clash', {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ from: 'clash_a' });
    const s = await cgiSummary(host, 'clash');
    expect(s.group).toBe('clash_a');
    expect(s.state).toBe('ready');
  });

  it('the newer file is refused and listed in `refused`, saying why', async () => {
    const { refused } = await adminCgis(host);
    const r = refused.find((x) => /clash_b[/\\]clash\.ts$/.test(x.file));
    expect(r).toBeDefined();
    expect(r!.message).toMatch(/clash/);
    expect(r!.message).toMatch(/clash_a[/\\]clash\.ts/);
    expect(refused.some((x) => /clash_a[/\\]clash\.ts$/.test(x.file))).toBe(false);
    expect(logLines().some((l) => l.level === 'error' && /clash_b/.test(String(l.file)))).toBe(true);
  });
});

describe('what is not a CGI', () => {
  it('a CGI importing a `_` helper is bundled with it and serves', async () => {
    const res = await host.post('uses_helper', { text: 'hi' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ shouted: 'HI!' });
  });

  it('`_` files, `_` folders and *.test.ts are not served and not listed', async () => {
    const names = (await adminCgis(host)).cgis.map((c) => c.name).sort();
    expect(names).toEqual(['bad_version', 'clash', 'echo', 'no_default', 'syntax_error', 'throws_at_load', 'uses_helper', 'zod_echo']);
    for (const name of ['_shared', 'shared', 'util', 'uses_helper.test']) {
      expectError(await host.post(name, {}), 404, 'NO_SUCH_CGI');
    }
  });
});

describe('a cgis folder outside the project tree', () => {
  it('has no node_modules anywhere above it', () => {
    expect(relative(ROOT, cgisDir).startsWith('..')).toBe(true);
    for (let dir = cgisDir; ; dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), `${dir}${sep}node_modules`).toBe(false);
      if (dirname(dir) === dir) break;
    }
  });

  it('loads CGIs that import cgihost and zod, and they answer', async () => {
    const echo = await host.post('echo', { text: 'outside' });
    expect(echo.status).toBe(200);
    expect(echo.headers.get('x-cgi-version')).toMatch(HEX12);
    const res = await host.post('zod_echo', { text: 'outside' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ echo: 'outside', zod: true });
    // zod from the host is the one the SDK validates with: input errors come out as INVALID_INPUT.
    const bad = await host.post('zod_echo', { text: 1 });
    expectError(bad, 400, 'INVALID_INPUT');
  });
});
