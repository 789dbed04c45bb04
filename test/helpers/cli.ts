/** Runs the built CLI to its end and collects what it printed. */
import { spawn } from 'node:child_process';
import { tempDir } from './fs.js';
import { BIN } from './paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * How long a `cgihost check` may take before the test gives up on it: a check type-checks (TypeScript with zod's
 * and node's types, seconds of CPU), which on a loaded machine takes tens of seconds. A test running one needs a
 * test timeout past this (CHECK_TEST_MS).
 */
export const CHECK_MS = 90_000;
export const CHECK_TEST_MS = CHECK_MS + 30_000;

/** Runs the `cgihost` command (bin/cgihost.js) to its end (check, new, --version, a start that must fail) and collects its output. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? (args[0] === 'check' ? CHECK_MS : 20_000);
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(BIN, args, {
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
      reject(new Error(`cgihost ${args.join(' ')} did not end in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}
