/**
 * Opens the one database of the data dir: WAL, durable commits, migrations.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrations } from './migrations.js';

export type Db = Database.Database;

export const DB_FILE = 'cgihost.db';

export function dbPath(dataDir: string): string {
  return join(dataDir, DB_FILE);
}

export interface OpenOptions {
  synchronous?: 'FULL' | 'NORMAL';
}

/** The writer's connection. Only the store thread opens one. */
export function openDatabase(dataDir: string, opts: OpenOptions = {}): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(dbPath(dataDir));
  try {
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
    db.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = OFF');
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -65536');
    // 16 MiB of WAL between checkpoints: measured better than SQLite's 1000 pages (fewer
    // checkpoint stalls) and than 64 MiB (the WAL file is reused instead of grown).
    db.pragma('wal_autocheckpoint = 4000');
    db.pragma('journal_size_limit = 67108864');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Applies the migrations the file has not seen yet, each in its own transaction. */
export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`database schema version ${current} is newer than this build knows (${migrations.length})`);
  }
  for (let v = current; v < migrations.length; v++) {
    const m = migrations[v]!;
    db.transaction(() => {
      db.exec(typeof m === 'string' ? m : m.sql);
      if (typeof m !== 'string') m.after?.(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return migrations.length;
}

/** A read-only connection to the same file (used by the main thread's TokenReader). */
export function openReadOnly(dataDir: string): Db {
  const db = new Database(dbPath(dataDir), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}
