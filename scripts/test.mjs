// `npm test`: every step runs, whatever an earlier one did, and the script
// fails if any failed, so a failing main suite still shows the binary suite's
// result (and a formatting slip does not hide the tests'). dist/ is built by
// vitest's global setup (test/global-setup.ts), once, when stale.
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEPS = [
  ['format', 'prettier', ['--check', '.']],
  ['types', 'tsc', ['--noEmit']],
  ['tests', 'vitest', ['--run', '--exclude', 'test/binary/**']],
  // The single binary apart: its build takes the machine's both cores for ~25 s.
  ['binary', 'vitest', ['--run', 'test/binary']],
];

const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` };
const results = [];
for (const [name, cmd, args] of STEPS) {
  console.log(`\n── npm test: ${name} (${cmd} ${args.join(' ')})`);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  const ok = r.status === 0;
  results.push({ name, ok, s: (performance.now() - t0) / 1000, why: r.error?.message ?? r.signal ?? `exit ${r.status}` });
}

console.log('\n── npm test summary');
for (const { name, ok, s, why } of results)
  console.log(`${ok ? 'pass' : 'FAIL'}  ${name.padEnd(7)} ${s.toFixed(1).padStart(6)} s${ok ? '' : `  (${why})`}`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
