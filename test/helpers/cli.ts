/** Runs the built CLI to its end and collects what it printed. */
import { spawn } from 'node:child_process';
import { tempDir } from './fs.js';
import { CLI } from './paths.js';

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
