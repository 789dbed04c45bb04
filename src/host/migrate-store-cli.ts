/**
 * `cgihost migrate-store --to postgres://… [--data-dir DIR]` (SPEC §9): copies
 * the stopped SQLite install of the data dir into an empty PostgreSQL
 * database (store/pg/migrate.ts). Progress goes to stderr (a line per table
 * as it goes, at most one a second for a large one), the summary to stdout.
 * Refusals end it with `cgihost: <message>` and the code's exit status
 * (errors.ts: STORE_IN_USE, MIGRATE_STORE_FAILED, CONFIG_INVALID for a bad URL).
 */
import type { Config } from '../config/schema.js';
import { CgiError } from '../errors.js';
import { migrateStore, type MigrateProgress } from '../store/pg/migrate.js';

const USAGE = 'usage: cgihost migrate-store --to postgres://user@host:port/database [--data-dir DIR]';

function progressPrinter(): (p: MigrateProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    const end = p.done >= p.total;
    if (!end && now - last < 1_000) return;
    last = now;
    process.stderr.write(`migrate-store: ${p.table}: ${p.done}/${p.total} rows${end ? ' done' : ''}\n`);
  };
}

export async function migrateStoreCommand(config: Config, args: string[], opts: { to?: string }): Promise<number> {
  if (args.length || opts.to === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (opts.to === '') throw new CgiError('CONFIG_INVALID', '--to must be a postgres:// URL');
  process.stderr.write(`migrate-store: copying the SQLite store of ${config.dataDir}\n`);
  const r = await migrateStore({ dataDir: config.dataDir, url: opts.to, onProgress: progressPrinter() });
  const width = Math.max(...r.tables.map((t) => t.table.length));
  const lines = [
    `copied ${r.rows} rows in ${(r.ms / 1000).toFixed(1)} s into ${r.target} (one transaction):`,
    ...r.tables.map((t) => `  ${t.table.padEnd(width)}  ${t.rows}`),
    `media files were not copied: they stay in ${r.mediaDir}; hosts on PostgreSQL read them from there (their mediaDir).`,
    'The search index is not copied: the PostgreSQL engine builds its own.',
    'This build still serves from SQLite: the PostgreSQL engine (issue 20, next step) will serve hosts from this database.',
  ];
  console.log(lines.join('\n'));
  return 0;
}
