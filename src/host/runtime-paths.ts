/**
 * Where the host finds the code it starts in threads: dist/ beside this
 * bundle under `npm start`; inside the single binary (src/sea/), the files it
 * extracted to its cache dir, plus the built-in CGIs served under the local
 * cgis folder.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/ (where the bundled worker and store thread live), found from this bundle's own place. */
export const DIST_DIR = dirname(fileURLToPath(import.meta.url));

export interface RuntimePaths {
  workerFile: string;
  storeThreadFile: string;
  /** The built web client (index.html and assets/), served at `/`. */
  webDir: string;
  /** The thread a backup runs in (cgihost backup through the admin API). */
  backupThreadFile: string;
  /** CGIs served when the cgis folder has no file of the same name (the binary's embedded ones). */
  builtinCgisDir?: string;
}

let chosen: RuntimePaths | undefined;

/** Called once, before the host starts, by the single binary's bootstrap. */
export function setRuntimePaths(paths: RuntimePaths): void {
  chosen = paths;
}

export function runtimePaths(): RuntimePaths {
  return (
    chosen ?? {
      workerFile: join(DIST_DIR, 'worker.cjs'),
      storeThreadFile: join(DIST_DIR, 'store-thread.js'),
      webDir: join(DIST_DIR, 'web'),
      backupThreadFile: join(DIST_DIR, 'backup-thread.js'),
    }
  );
}
