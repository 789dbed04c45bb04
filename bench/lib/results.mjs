// Writes a bench's figures to bench/results/<name>.json (git-ignored), with
// enough about the machine and run to judge them later.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './servers.mjs';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

export function machineInfo() {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemMB: Math.round(totalmem() / 1024 / 1024),
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

export function writeResult(name, result) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const doc = { bench: name, at: new Date().toISOString(), machine: machineInfo(), ...result };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
  return file;
}
