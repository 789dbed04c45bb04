/**
 * Starts the real host (dist/cli.js, as `npm start` runs it) as a child
 * process on a random port, with a temp data dir, and talks HTTP to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.js');
export const FIXTURES = join(ROOT, 'test/fixtures');

export interface StartOptions {
  /** A cgis folder to serve; default: a fresh empty temp folder. */
  cgisDir?: string;
  /** Fixture CGIs to copy in: { 'group/name.ts': 'fixture path relative to test/fixtures/cgis' } or inline source. */
  files?: Record<string, string>;
  dataDir?: string;
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  args?: string[];
  command?: 'start' | 'dev';
  /** How long to wait for the `listening on` line (default 20 s). */
  startTimeoutMs?: number;
}

export interface RunningHost {
  url: string;
  port: number;
  cgisDir: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the host printed so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, no cleanup. */
  kill(): Promise<void>;
  post(name: string, body: unknown, opts?: { token?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
  get(path: string, opts?: { token?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export function tempDir(prefix = 'cgihost-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes CGI files into a cgis dir: values are source text, or `@fixture/path.ts` to copy a fixture. */
export function writeCgis(cgisDir: string, files: Record<string, string>): void {
  for (const [rel, src] of Object.entries(files)) {
    const dest = join(cgisDir, rel);
    mkdirSync(join(dest, '..'), { recursive: true });
    if (src.startsWith('@')) cpSync(join(FIXTURES, 'cgis', src.slice(1)), dest);
    else writeFileSync(dest, src);
  }
}

export async function startHost(opts: StartOptions = {}): Promise<RunningHost> {
  const cgisDir = opts.cgisDir ?? tempDir('cgihost-cgis-');
  const dataDir = opts.dataDir ?? tempDir('cgihost-data-');
  if (opts.files) writeCgis(cgisDir, opts.files);
  const args = [CLI, opts.command ?? 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--cgis-dir', cgisDir];
  if (opts.config) {
    const file = join(tempDir('cgihost-config-'), 'host.config.json');
    writeFileSync(file, JSON.stringify(opts.config));
    args.push('--config', file);
  }
  args.push(...(opts.args ?? []));
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const port = await new Promise<number>((resolvePort, reject) => {
    const ms = opts.startTimeoutMs ?? 20_000;
    const timer = setTimeout(() => reject(new Error(`host did not start in ${ms / 1000} s:\n${out}`)), ms);
    const check = () => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code} before listening:\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body: unknown, o: { token?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    url,
    port,
    cgisDir,
    dataDir,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
    post: (name, body, o) => call('POST', `/cgi-bin/${name}`, body, o),
    get: (path, o) => call('GET', path, undefined, o),
  };
}

/** Polls `fn` until it returns a truthy value or `ms` runs out. */
export async function waitFor<T>(fn: () => Promise<T> | T, ms = 5_000, everyMs = 25): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs dist/cli.js to its end (check, new, --version, a start that must fail) and collects its output. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? tempDir('cgihost-cwd-'),
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (c) => (stdout += c));
    proc.stderr!.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cgihost ${args.join(' ')} did not end in ${opts.timeoutMs ?? 20_000} ms:\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}
