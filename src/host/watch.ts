/** Watches the cgis folder and feeds changes to the registry. Nothing a watcher callback does may crash the host. */
import { watch } from 'chokidar';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Registry } from './registry.js';

const NEW_DIR_RESCANS_MS = [0, 250, 1_000];
const IGNORED = /(^|[/\\])(\.git|node_modules|\.cgihost-cache)([/\\]|$)/;

export async function watchCgis(dir: string, debounceMs: number, registry: Registry, log: Logger): Promise<() => Promise<void>> {
  const watcher = watch(dir, {
    ignoreInitial: true,
    ignored: (p, stats) => IGNORED.test(p) || (stats?.isFile() === true && !/\.(ts|mts|js|mjs|json)$/.test(p)),
  });
  // Editors save in bursts (truncate, write, rename): act once the file has been quiet for debounceMs.
  const timers = new Map<string, NodeJS.Timeout>();
  const rescans = new Set<NodeJS.Timeout>();
  const schedule = (file: string, gone: boolean) => {
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        (gone ? registry.removed(file) : registry.changed(file)).catch((e: Error) =>
          log.error('applying a CGI file change failed', { file, error: e.message }),
        );
      }, debounceMs),
    );
  };
  watcher
    .on('add', (f) => schedule(f, false))
    .on('change', (f) => schedule(f, false))
    .on('unlink', (f) => schedule(f, true))
    // A file written into a folder a moment after the folder was made can come before the folder is watched
    // (seen under load, in CI): whatever a new folder holds is applied now and twice more while its watch
    // settles (an unchanged file loads as a no-op).
    .on('addDir', (dir) => {
      for (const ms of NEW_DIR_RESCANS_MS) {
        const t = setTimeout(() => {
          rescans.delete(t);
          readdir(dir, { withFileTypes: true })
            .then((entries) => {
              for (const e of entries) if (e.isFile() && e.name.endsWith('.ts')) schedule(join(dir, e.name), false);
            })
            .catch(() => {});
        }, ms);
        rescans.add(t);
      }
    })
    .on('error', (e) => log.error('watcher error', { error: String(e) }));
  await new Promise<void>((resolve) => watcher.once('ready', resolve));
  return async () => {
    for (const t of timers.values()) clearTimeout(t);
    for (const t of rescans) clearTimeout(t);
    await watcher.close();
  };
}
