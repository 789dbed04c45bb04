/**
 * The cache dir: where the binary writes what cannot run from inside it (the
 * SQLite addon, esbuild's executable, the worker and store-thread code, the
 * built-in CGIs). One subfolder per build (`<version>-<content hash>`), each
 * file written to a temp name and renamed into place, so copies of the binary
 * starting at the same time never see a half-written file.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CgiError } from '../errors.js';
import { CACHE_DIR_HINT } from './errors.js';
import { unpack, type AssetReader, type SeaManifest } from './manifest.js';

/** CGIHOST_CACHE_DIR, else $XDG_CACHE_HOME/cgihost, else ~/.cache/cgihost, else <tmp>/cgihost-<user>. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CGIHOST_CACHE_DIR) return resolve(env.CGIHOST_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'cgihost');
  let home = '';
  try {
    home = homedir();
  } catch {
    /* no home: fall through to the temp dir */
  }
  if (home) return join(home, '.cache', 'cgihost');
  return join(tmpdir(), `cgihost-${safeUser()}`);
}

function safeUser(): string {
  try {
    return userInfo().username.replace(/[^\w.-]/g, '_');
  } catch {
    return String(process.getuid?.() ?? 'user');
  }
}

const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EEXIST', 'EDQUOT', 'ENOENT']);

/** Writes every file of the manifest that is not there yet; returns this build's folder. */
export function extractAll(root: string, manifest: SeaManifest, read: AssetReader): string {
  const dir = join(root, manifest.id);
  for (const f of manifest.files) {
    const dest = join(dir, f.path);
    if (sizeOf(dest) === f.size) continue;
    try {
      writeAtomically(dest, unpack(f, read), f.mode);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code && UNWRITABLE.has(code)) {
        throw new CgiError(
          'CACHE_DIR_UNWRITABLE',
          `cannot write its runtime files to the cache dir ${root} (${code}: ${(e as Error).message}). ${CACHE_DIR_HINT}`,
          undefined,
          { cause: e },
        );
      }
      throw e;
    }
  }
  return dir;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

function writeAtomically(dest: string, data: Uint8Array, mode: number): void {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
    // The umask may have taken the execute bits writeFileSync was asked for.
    chmodSync(tmp, mode);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
