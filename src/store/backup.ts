/**
 * `cgihost backup` (SPEC §10): a consistent copy of the SQLite database while
 * the host serves, through SQLite's online backup API (better-sqlite3's
 * db.backup), never a file copy. SQLite only; a PostgreSQL store is backed up
 * with PostgreSQL's own tools.
 *
 * The copy is made on a connection of its own that holds one read
 * transaction from start to end. In WAL mode a reader never blocks the
 * writer, and holding the snapshot is what lets the copy finish under a
 * steady stream of writes: SQLite restarts a backup whose source another
 * connection changed between steps, unless the backup's own connection still
 * reads the old snapshot. So the file is the database exactly as it was when
 * the backup began (every write acknowledged before then, nothing after).
 * The price: the WAL cannot be reset while the snapshot is held, so it grows
 * by what is written meanwhile; the copy checkpoints it once done.
 *
 * The copy is paced (it works at most `busyShare` of the time, sleeping in
 * between), so a large backup leaves the host most of the machine. It is
 * written to a temp file beside FILE, synced, switched to a rollback journal
 * (a single self-contained file), and renamed over FILE: FILE is never half a
 * backup.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CgiError } from '../errors.js';
import type { BackupProgress } from './admin-api.js';

export interface BackupOptions {
  /** Called after each step (often: the caller throttles its display). */
  onProgress?(p: BackupProgress): void;
  /** The share of the time the copy may work, 0 < busyShare ≤ 1 (default 0.5): it sleeps the rest. */
  busyShare?: number;
  /** Pages copied per step (default 256: 1 MiB of 4 KiB pages). */
  pagesPerStep?: number;
}

export interface DatabaseBackup {
  file: string;
  bytes: number;
  pages: number;
  ms: number;
}

/** The thread sleeps (a backup runs in a thread or a CLI process of its own, so blocking here holds up nothing else). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** Checks where the backup goes: an absolute path whose folder exists, not the database itself. */
export function checkBackupTarget(dbFile: string, file: unknown): string {
  if (typeof file !== 'string' || !file.startsWith('/')) {
    throw new CgiError('INVALID_INPUT', 'the backup file must be an absolute path');
  }
  const dir = dirname(file);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new CgiError('INVALID_INPUT', `the folder ${dir} does not exist`);
  if (file === dbFile || file.startsWith(`${dbFile}-`))
    throw new CgiError('INVALID_INPUT', 'the backup cannot replace the database itself');
  return file;
}

export async function backupDatabase(dbFile: string, file: string, opts: BackupOptions = {}): Promise<DatabaseBackup> {
  const started = performance.now();
  checkBackupTarget(dbFile, file);
  const busyShare = Math.min(1, Math.max(0.05, opts.busyShare ?? 0.5));
  const pagesPerStep = opts.pagesPerStep ?? 256;
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const db = new Database(dbFile, { fileMustExist: true });
  let done = false;
  try {
    db.pragma('busy_timeout = 5000');
    // Its own small cache: the copy streams every page once and must not need memory in proportion.
    db.pragma('cache_size = -8192');
    db.exec('BEGIN');
    // The snapshot starts at the first read, not at BEGIN.
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    let last = performance.now();
    const result = await db.backup(tmp, {
      progress: ({ totalPages, remainingPages }) => {
        const now = performance.now();
        sleep(((now - last) * (1 - busyShare)) / busyShare);
        last = performance.now();
        opts.onProgress?.({ donePages: totalPages - remainingPages, totalPages });
        return pagesPerStep;
      },
    });
    db.exec('COMMIT');
    opts.onProgress?.({ donePages: result.totalPages, totalPages: result.totalPages });
    // One self-contained file: a rollback journal instead of the WAL the copied header names.
    const copy = new Database(tmp);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    syncFile(tmp);
    renameSync(tmp, file);
    syncFile(dirname(file));
    done = true;
    // The snapshot kept the WAL from being reset: copy it into the database now, off the writer's thread.
    db.pragma('wal_checkpoint(PASSIVE)');
    return { file, bytes: statSync(file).size, pages: result.totalPages, ms: Math.round(performance.now() - started) };
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    if (!done) for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
