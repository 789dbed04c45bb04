/**
 * The single binary, as someone downloading it would run it: dist/cgihost
 * copied alone into an empty folder, started with no node or npm on the PATH,
 * a fresh cache dir, and no cgis folder. Built first when missing or older
 * than the sources (about 25 s here; `npm run build:binary`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir, waitFor } from '../helpers/index.js';

const BINARY = join(ROOT, 'dist', 'cgihost');
const SOURCES = ['src', 'cgis', 'scripts', 'package.json', 'package-lock.json'];

// SEA blobs are specific to the Node version that makes them; the assets (addon, esbuild) to Linux x64/arm64.
const unsupported =
  process.platform !== 'linux'
    ? `the binary is built for Linux, not ${process.platform}`
    : !process.version.startsWith('v20.')
      ? `build:binary needs Node 20, not ${process.version}`
      : null;
if (unsupported) console.warn(`test/binary skipped: ${unsupported}`);

describe.skipIf(unsupported !== null)('single binary (dist/cgihost)', () => {
  const dir = tempDir('cgihost-bin-');
  const cacheDir = join(dir, '..', `${dir.split('/').pop()}-cache`);
  const bin = join(dir, 'cgihost');
  // No node, no npm: PATH holds only an empty folder.
  const emptyPath = tempDir('cgihost-empty-path-');
  const env = { HOME: process.env.HOME ?? dir, PATH: emptyPath, CGIHOST_CACHE_DIR: cacheDir };
  let proc: ChildProcess | undefined;
  let out = '';
  let url = '';

  beforeAll(async () => {
    if (stale()) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-binary.mjs')], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm run build:binary failed:\n${r.stdout}\n${r.stderr}`);
      console.log(`built dist/cgihost in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    copyFileSync(BINARY, bin);
    chmodSync(bin, 0o755);
    expect(readdirSync(dir)).toEqual(['cgihost']);
  }, 240_000);

  afterAll(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    for (const d of [dir, cacheDir, emptyPath]) rmSync(d, { recursive: true, force: true });
  });

  it('prints its version without node on the PATH', () => {
    const r = spawnSync(bin, ['--version'], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^cgihost \d+\.\d+\.\d+ \(single binary, node v20\./);
  });

  it('checks CGIs, and says plainly that it does not check their types (it carries no TypeScript)', () => {
    const cgis = tempDir('cgihost-bin-check-');
    mkdirSync(join(cgis, 'demo'));
    writeFileSync(
      join(cgis, 'demo', 'hello.ts'),
      `import { defineCgi, z } from 'cgihost';\nexport default defineCgi({ apiVersion: 1, auth: 'none', input: z.object({}), output: z.object({ ok: z.boolean() }), handler: () => ({ ok: true }) });\n`,
    );
    const r = spawnSync(bin, ['check', '--cgis-dir', cgis], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    rmSync(cgis, { recursive: true, force: true });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok +demo\/hello\b/m);
    expect(r.stdout).toMatch(/types not checked: TypeScript is not installed beside the host/);
    expect(r.stdout).toMatch(/\(types not checked\)/);
  }, 150_000);

  it('writes its cache dir safely when several copies start at once', async () => {
    // An unknown command exits (code 2) after the bootstrap has written the cache dir.
    const codes = await Promise.all(
      Array.from(
        { length: 4 },
        () => new Promise<number | null>((r) => spawn(bin, ['no-such-command'], { cwd: dir, env, stdio: 'ignore' }).once('exit', r)),
      ),
    );
    expect(codes).toEqual([2, 2, 2, 2]);
    const [build] = readdirSync(cacheDir);
    const names = readdirSync(join(cacheDir, build!), { recursive: true }) as string[];
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'better_sqlite3.node',
        'esbuild',
        'worker.cjs',
        'worker-bundle.cjs',
        'worker-bundle.cache',
        'store-thread.mjs',
        join('cgis', 'account', 'login.ts'),
      ]),
    );
  });

  it('starts in an empty folder, with no cgis folder', async () => {
    proc = spawn(bin, ['start', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (c) => (out += c));
    proc.stderr!.on('data', (c) => (out += c));
    url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`not listening after 60 s:\n${out}`)), 60_000);
      proc!.stdout!.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
      proc!.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`exited with ${code} before listening:\n${out}`));
      });
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  }, 60_000);

  const post = async (name: string, body: unknown, token?: string) => {
    const res = await fetch(`${url}/cgi-bin/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text || 'null') };
  };

  /** Polls until the CGI answers as `ok` wants, for at most `ms`. */
  const eventually = (name: string, body: unknown, ok: (r: Awaited<ReturnType<typeof post>>) => boolean, ms = 5_000) =>
    waitFor(
      async () => {
        const last = await post(name, body);
        if (ok(last)) return last;
        throw new Error(`last: ${last.status} ${last.text}`);
      },
      ms,
      { everyMs: 100, what: `${name} answering as expected` },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${out.slice(-3000)}`);
    });

  it('serves the built-in messaging CGIs with data in ./data', async () => {
    const names = ['alice', 'bob'].map((n) => `${n}_${process.pid.toString(36)}`);
    const users = [];
    for (const username of names) {
      const reg = await post('register', { username, password: 'correct horse battery' });
      expect(reg.status, reg.text).toBe(200);
      const login = await post('login', { username, password: 'correct horse battery' });
      expect(login.status, login.text).toBe(200);
      users.push({ uid: reg.body.uid as string, token: login.body.token as string });
    }
    const [a, b] = users as [{ uid: string; token: string }, { uid: string; token: string }];
    const sent = await post('sendmsg', { to: b.uid, type: 'text', content: 'hello from the binary', clientMsgId: 'smoke-1' }, a.token);
    expect(sent.status, sent.text).toBe(200);
    const synced = await post('sync', { syncKey: 0 }, b.token);
    expect(synced.status, synced.text).toBe(200);
    expect(synced.body.messages).toEqual([
      expect.objectContaining({ from: a.uid, content: 'hello from the binary', msgId: sent.body.msgId }),
    ]);
    expect(existsSync(join(dir, 'data', 'cgihost.db'))).toBe(true);
  });

  it('serves a TypeScript CGI dropped into ./cgis beside it, built-ins still served', async () => {
    mkdirSync(join(dir, 'cgis', 'demo'), { recursive: true });
    writeFileSync(
      join(dir, 'cgis', 'demo', 'hello.ts'),
      `import { defineCgi, z } from 'cgihost';
interface Greeting { greeting: string }
const greet = (name: string): Greeting => ({ greeting: \`hello, \${name}\` });
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ name: z.string() }),
  output: z.object({ greeting: z.string() }),
  handler: (input) => greet(input.name),
});
`,
    );
    const r = await eventually('hello', { name: 'binary' }, (x) => x.status === 200);
    expect(r.body).toEqual({ greeting: 'hello, binary' });
    expect((await post('echo', { text: 'still here' })).body).toEqual({ echo: 'still here' });
  });

  it('lets a local file override a built-in CGI, and gives it back when the file goes', async () => {
    const file = join(dir, 'cgis', 'demo', 'echo.ts');
    writeFileSync(
      file,
      `import { defineCgi, z } from 'cgihost';
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ text: z.string() }),
  output: z.object({ echo: z.string() }),
  handler: (input) => ({ echo: input.text.toUpperCase() }),
});
`,
    );
    await eventually('echo', { text: 'local' }, (x) => x.body?.echo === 'LOCAL');
    rmSync(file);
    await eventually('echo', { text: 'builtin' }, (x) => x.body?.echo === 'builtin');
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('says what to do when the cache dir cannot be written', () => {
    // A path under a regular file: unwritable even for root.
    const r = spawnSync(bin, ['start', '--port', '0'], {
      cwd: dir,
      env: { ...env, CGIHOST_CACHE_DIR: join(bin, 'cache') },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^cgihost: cannot write its runtime files to the cache dir .*CGIHOST_CACHE_DIR/);
  });

  it('says what to do when the cache dir is on a noexec filesystem', (ctx) => {
    const mnt = tempDir('cgihost-noexec-');
    // Needs root (CI and this machine have it); skipped elsewhere.
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=64m', 'tmpfs', mnt]).status !== 0) {
      rmSync(mnt, { recursive: true, force: true });
      ctx.skip('cannot mount a noexec tmpfs here (not root?)');
      return;
    }
    try {
      const r = spawnSync(bin, ['start', '--port', '0'], { cwd: dir, env: { ...env, CGIHOST_CACHE_DIR: mnt }, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^cgihost: cannot load its SQLite addon from the cache dir .*noexec.*CGIHOST_CACHE_DIR/);
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});

/** dist/cgihost is missing, or older than a source it is built from. */
function stale(): boolean {
  if (!existsSync(BINARY)) return true;
  const built = statSync(BINARY).mtimeMs;
  const newer = (p: string): boolean => {
    const s = statSync(p);
    if (!s.isDirectory()) return s.mtimeMs > built;
    return readdirSync(p).some((e) => e !== 'node_modules' && newer(join(p, e)));
  };
  return SOURCES.some((s) => existsSync(join(ROOT, s)) && newer(join(ROOT, s)));
}
