/** Temp folders and files the tests write: CGI sources, fixtures, copies of the project's CGIs. */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FIXTURES, PROJECT_CGIS } from './paths.js';

/** A fresh empty folder under the OS temp dir. */
export function tempDir(prefix = 'cgihost-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a file, creating its folder. */
export function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Writes CGI files into a cgis dir: values are source text, or `@fixture/path.ts` to copy one from test/fixtures/cgis. */
export function writeCgis(cgisDir: string, files: Record<string, string>): void {
  for (const [rel, src] of Object.entries(files)) {
    const dest = join(cgisDir, rel);
    if (src.startsWith('@')) {
      mkdirSync(dirname(dest), { recursive: true });
      cpSync(join(FIXTURES, 'cgis', src.slice(1)), dest);
    } else {
      writeFile(dest, src);
    }
  }
}

/** Copies files or folders of the project's cgis/ (paths relative to it, e.g. 'account', '_shared', 'msgsync/sync.ts') into a cgis dir. */
export function copyProjectCgis(cgisDir: string, ...paths: string[]): void {
  for (const rel of paths) cpSync(join(PROJECT_CGIS, rel), join(cgisDir, rel), { recursive: true });
}

/** Every regular file under a folder, recursively (paths relative to it); [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out;
}
