/**
 * better-sqlite3's native addon inside the binary. An SEA's require loads only
 * built-in modules, so the addon is written out to the cache dir and loaded
 * with process.dlopen; better-sqlite3 takes the loaded module as its
 * `nativeBinding` object.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CgiError } from '../errors.js';
import { CACHE_DIR_HINT } from './errors.js';
import { glibcProblem, runtimeGlibc } from './glibc.js';

export const ADDON_FILE = 'better_sqlite3.node';

let addonFile: string | undefined;
let addon: object | undefined;

/** The main thread: load the addon now (so a glibc or noexec problem shows at start, clearly) and use it. */
export function useSqliteAddon(dir: string, neededGlibc: string | null): void {
  addonFile = join(dir, ADDON_FILE);
  try {
    sqliteAddon();
  } catch (e) {
    throw explainLoadError(e as Error, dir, neededGlibc);
  }
}

/**
 * The loaded addon. The store thread runs from a file in the cache dir, beside
 * the addon, and finds it there.
 */
export function sqliteAddon(): object {
  if (addon) return addon;
  const file = addonFile ?? fileURLToPath(new URL(`./${ADDON_FILE}`, import.meta.url));
  const m = { exports: {} as object };
  process.dlopen(m, file);
  addon = m.exports;
  return addon;
}

export function explainLoadError(e: Error, dir: string, neededGlibc: string | null): Error {
  const msg = e.message ?? String(e);
  const glibc = glibcProblem(msg, neededGlibc, /GLIBC_/.test(msg) ? runtimeGlibc() : null);
  if (glibc) return new CgiError('GLIBC_TOO_OLD', glibc, undefined, { cause: e });
  // mmap(PROT_EXEC) refused: the cache dir's filesystem is mounted noexec.
  if (/failed to map segment|operation not permitted|permission denied/i.test(msg)) {
    return new CgiError(
      'CACHE_DIR_NOEXEC',
      `cannot load its SQLite addon from the cache dir ${dir}: the filesystem does not allow running code from it (mounted noexec?) (${msg.trim()}). ${CACHE_DIR_HINT}`,
      undefined,
      { cause: e },
    );
  }
  return new CgiError('ADDON_LOAD_FAILED', `cannot load its SQLite addon ${join(dir, ADDON_FILE)}: ${msg.trim()}`, undefined, { cause: e });
}
