/**
 * Starts the real host as `npm start` and the installed `cgihost` command do
 * (bin/cgihost.js, which execs node on dist/cli.js with the environment the
 * host needs) as a child process on a random port, with a temp data dir, and
 * talks HTTP to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, writeCgis } from './fs.js';
import { BIN } from './paths.js';

// The built-in cgis/ are 28 CGIs, a thread each: on a loaded 2-core machine start-up can take tens of seconds.
const START_TIMEOUT_MS = 60_000;

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

/**
 * Test hosts hash passwords at scrypt N=1024 (cgis/_shared/password.ts), not
 * the default 16384: suites register hundreds of users, two hashes each, and
 * at full cost that was a tenth of the suite's CPU. A test that sets the
 * account group itself, or gives a config that is not an object (to test its
 * refusal), keeps what it gave.
 */
export const TEST_SCRYPT_N = '1024';
function withTestPasswordCost(config: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) return config;
  const groups = (config?.cgiGroups ?? {}) as Record<string, unknown>;
  if (typeof groups !== 'object' || groups === null || 'account' in groups) return config;
  return { ...config, cgiGroups: { ...groups, account: { env: { SCRYPT_N: TEST_SCRYPT_N } } } };
}

export async function startHost(opts: StartOptions = {}): Promise<RunningHost> {
  const cgisDir = opts.cgisDir ?? tempDir('cgihost-cgis-');
  const dataDir = opts.dataDir ?? tempDir('cgihost-data-');
  if (opts.files) writeCgis(cgisDir, opts.files);
  const args = [opts.command ?? 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--cgis-dir', cgisDir];
  const config = withTestPasswordCost(opts.config);
  if (config) {
    const file = join(tempDir('cgihost-config-'), 'host.config.json');
    writeFileSync(file, JSON.stringify(config));
    args.push('--config', file);
  }
  args.push(...(opts.args ?? []));
  // stdin is a pipe the host watches: if this test process dies without stopping it, the host stops too (no orphans).
  // BIN is the `cgihost` command (a shell line that execs node: the child's pid is the host's).
  const proc = spawn(BIN, args, {
    env: { CGIHOST_STOP_ON_STDIN_EOF: '1', ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const port = await new Promise<number>((resolvePort, reject) => {
    const ms = opts.startTimeoutMs ?? START_TIMEOUT_MS;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`host did not start in ${ms / 1000} s:\n${out}`));
    }, ms);
    const check = () => {
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
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
  // With tls in the config the host serves https (SPEC §10); post/get then need a client that trusts its certificate.
  const url = `${/listening on https:/.test(out) ? 'https' : 'http'}://127.0.0.1:${port}`;
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
