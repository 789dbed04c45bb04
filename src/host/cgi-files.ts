/** Which files in the cgis folder are CGIs: `<group>/<name>.ts` and `<group>/<name>.canary.ts`. */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const CGI_NAME = /^[a-z][a-z0-9_]*$/;

export interface CgiFile {
  file: string;
  group: string;
  name: string;
  canary: boolean;
}

export function classify(cgisDir: string, file: string): CgiFile | null {
  const parts = relative(cgisDir, file).split(sep);
  if (parts.length !== 2) return null;
  const [group, base] = parts as [string, string];
  if (base.startsWith('_') || base.endsWith('.test.ts') || base.endsWith('.d.ts') || !base.endsWith('.ts')) return null;
  const canary = base.endsWith('.canary.ts');
  const name = base.slice(0, -(canary ? '.canary.ts' : '.ts').length);
  // Folders starting with '_' or '.' hold shared helpers, never CGIs.
  if (!CGI_NAME.test(name) || group.startsWith('.') || group.startsWith('_') || group === 'node_modules') return null;
  return { file, group, name, canary };
}

/** Every CGI file, oldest first (on a name clash the newer file is the one refused). */
export function listCgiFiles(cgisDir: string): CgiFile[] {
  const found: Array<CgiFile & { mtime: number }> = [];
  let groups: string[];
  try {
    groups = readdirSync(cgisDir);
  } catch {
    return [];
  }
  for (const g of groups) {
    const dir = join(cgisDir, g);
    let entries: string[];
    try {
      if (!statSync(dir).isDirectory()) continue;
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      const f = classify(cgisDir, join(dir, e));
      if (f) found.push({ ...f, mtime: statSync(f.file).mtimeMs });
    }
  }
  return found.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file)).map(({ mtime: _, ...f }) => f);
}

/**
 * The CGI files to serve: the cgis folder's, plus the built-in ones (the
 * single binary's) whose name no stable file of the folder takes. A local
 * file overrides a built-in CGI of the same name, whatever its group.
 */
export function listServedCgiFiles(cgisDir: string, builtinDir?: string): CgiFile[] {
  const local = listCgiFiles(cgisDir);
  if (!builtinDir) return local;
  const taken = new Set(local.filter((f) => !f.canary).map((f) => f.name));
  return [...listCgiFiles(builtinDir).filter((f) => !taken.has(f.name)), ...local];
}
