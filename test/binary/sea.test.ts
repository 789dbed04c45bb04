/** The single binary's start-up pieces, without building it: cache dir, extraction, and the messages for a machine it cannot run on. */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { listServedCgiFiles } from '../../src/host/cgi-files.js';
import { cacheRoot, extractAll } from '../../src/sea/cache-dir.js';
import { CgiError } from '../../src/errors.js';
import { glibcProblem, isOlder } from '../../src/sea/glibc.js';
import type { AssetReader, SeaManifest } from '../../src/sea/manifest.js';
import { explainLoadError } from '../../src/sea/sqlite-addon.js';
import { tempDir } from '../helpers/index.js';

const tmp = tempDir('cgihost-sea-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('cache dir', () => {
  it('is CGIHOST_CACHE_DIR, else $XDG_CACHE_HOME/cgihost, else ~/.cache/cgihost', () => {
    expect(cacheRoot({ CGIHOST_CACHE_DIR: '/srv/c', XDG_CACHE_HOME: '/x' })).toBe('/srv/c');
    expect(cacheRoot({ XDG_CACHE_HOME: '/x' })).toBe('/x/cgihost');
    expect(cacheRoot({})).toMatch(/\/\.cache\/cgihost$/);
  });
});

describe('extractAll', () => {
  const files: Record<string, Buffer> = {
    esbuild: Buffer.from('#!/bin/sh\necho esbuild\n'),
    'cgis/demo/echo.ts': Buffer.from('export {};\n'),
  };
  const manifest: SeaManifest = {
    version: '9.9.9',
    id: '9.9.9-abc',
    node: process.version,
    glibc: '2.34',
    files: Object.entries(files).map(([path, data], i) => ({
      path,
      asset: `f${i}`,
      size: data.length,
      mode: i === 0 ? 0o755 : 0o644,
      gzip: true,
    })),
  };
  const assets = new Map(manifest.files.map((f) => [f.asset, gzipSync(files[f.path]!)]));
  let reads = 0;
  const read: AssetReader = (key) => {
    reads++;
    return assets.get(key)!;
  };

  it('writes every file into <root>/<build id>, with its mode, and no temp file left', () => {
    const dir = extractAll(join(tmp, 'a'), manifest, read);
    expect(dir).toBe(join(tmp, 'a', '9.9.9-abc'));
    expect(readFileSync(join(dir, 'esbuild'))).toEqual(files.esbuild);
    expect(readFileSync(join(dir, 'cgis/demo/echo.ts'))).toEqual(files['cgis/demo/echo.ts']);
    expect(statSync(join(dir, 'esbuild')).mode & 0o777).toBe(0o755);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves complete files alone and replaces a torn one', () => {
    const dir = join(tmp, 'a', '9.9.9-abc');
    const before = statSync(join(dir, 'esbuild')).ino;
    writeFileSync(join(dir, 'cgis/demo/echo.ts'), 'exp');
    reads = 0;
    extractAll(join(tmp, 'a'), manifest, read);
    expect(reads).toBe(1);
    expect(statSync(join(dir, 'esbuild')).ino).toBe(before);
    expect(readFileSync(join(dir, 'cgis/demo/echo.ts'))).toEqual(files['cgis/demo/echo.ts']);
  });

  it('says to set CGIHOST_CACHE_DIR when the cache dir cannot be written', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, '');
    let err: unknown;
    try {
      extractAll(join(file, 'cache'), manifest, read);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgiError);
    expect((err as CgiError).code).toBe('CACHE_DIR_UNWRITABLE');
    expect((err as Error).message).toMatch(/cannot write its runtime files to the cache dir .*ENOTDIR.*CGIHOST_CACHE_DIR/);
  });
});

describe('loading the SQLite addon', () => {
  it('names the glibc needed and the one there when the loader reports a missing GLIBC_ version', () => {
    const loader = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /c/better_sqlite3.node)";
    const msg = glibcProblem(loader, '2.34', '2.31');
    expect(msg).toMatch(/needs glibc 2\.34 or newer, and this system has glibc 2\.31/);
    expect(glibcProblem('some other failure', '2.34', '2.36')).toBeNull();
    expect(isOlder('2.31', '2.34')).toBe(true);
    expect(isOlder('2.36', '2.34')).toBe(false);
    expect(isOlder('3.0', '2.34')).toBe(false);
  });

  it('tells a noexec cache dir from other failures', () => {
    const noexec = explainLoadError(new Error('/c/better_sqlite3.node: failed to map segment from shared object'), '/c', '2.34');
    expect((noexec as CgiError).code).toBe('CACHE_DIR_NOEXEC');
    expect(noexec.message).toMatch(/noexec.*CGIHOST_CACHE_DIR/);
    const glibc = explainLoadError(new Error("version `GLIBC_2.34' not found"), '/c', '2.34');
    expect((glibc as CgiError).code).toBe('GLIBC_TOO_OLD');
    const other = explainLoadError(new Error('/c/better_sqlite3.node: invalid ELF header'), '/c', '2.34');
    expect((other as CgiError).code).toBe('ADDON_LOAD_FAILED');
  });
});

describe('built-in and local CGIs', () => {
  it('serves the union; a local stable file takes a built-in name from any group, a local canary does not', () => {
    const put = (rel: string) => {
      mkdirSync(join(tmp, rel, '..'), { recursive: true });
      writeFileSync(join(tmp, rel), '');
    };
    for (const f of ['builtin/account/login.ts', 'builtin/account/register.ts', 'builtin/demo/echo.ts', 'builtin/_shared/password.ts'])
      put(f);
    for (const f of ['local/mine/echo.ts', 'local/demo/hello.ts', 'local/account/register.canary.ts']) put(f);
    const served = listServedCgiFiles(join(tmp, 'local'), join(tmp, 'builtin')).map(
      (f) => `${f.file.slice(tmp.length + 1)}${f.canary ? ' (canary)' : ''}`,
    );
    expect(served.sort()).toEqual([
      'builtin/account/login.ts',
      'builtin/account/register.ts',
      'local/account/register.canary.ts (canary)',
      'local/demo/hello.ts',
      'local/mine/echo.ts',
    ]);
    expect(listServedCgiFiles(join(tmp, 'local')).length).toBe(3);
  });
});
