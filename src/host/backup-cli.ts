/**
 * `cgihost backup FILE [--media DIR] [--url URL]` (SPEC §10): a consistent
 * copy of the database (SQLite's online backup, store/backup.ts) and of the
 * media folder (by default into FILE.media), made while the host serves.
 * Without --url it is made by this process on the data dir of the config (a
 * host may be running on it or not); with --url by the running host, through
 * its admin API (the file is then written on the host's machine). Progress
 * goes to stderr, the result to stdout as one JSON line.
 */
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { CgiError } from '../errors.js';
import type { BackupProgress, BackupResult } from '../store/admin-api.js';
import { backupDatabase } from '../store/backup.js';
import { dbPath } from '../store/db.js';
import { copyMedia } from '../store/media-copy.js';
import { adminRequest, hostUrl, readAll } from './admin-client.js';

function progressPrinter(): (p: BackupProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 1_000 && p.donePages < p.totalPages) return;
    last = now;
    const pct = p.totalPages ? Math.floor((p.donePages / p.totalPages) * 100) : 100;
    process.stderr.write(`backup: ${pct}% (${p.donePages}/${p.totalPages} pages)\n`);
  };
}

export async function backupCommand(
  config: Config,
  args: string[],
  opts: { media?: string; url?: string; busyShare?: string },
): Promise<number> {
  const [target] = args;
  if (!target || args.length > 1) {
    console.error('usage: cgihost backup FILE [--media DIR] [--url URL] [--busy-share 0.05..1]');
    return 2;
  }
  const file = resolve(target);
  const mediaDir = resolve(opts.media ?? `${file}.media`);
  let busyShare: number | undefined;
  if (opts.busyShare !== undefined) {
    busyShare = Number(opts.busyShare);
    if (!(busyShare >= 0.05 && busyShare <= 1)) throw new CgiError('CONFIG_INVALID', '--busy-share must be a number from 0.05 to 1');
  }
  if (config.store.engine === 'postgres') {
    console.error(
      "cgihost: backup: this install's store is PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, or pg_basebackup with WAL archiving) and copy the media folder " +
        (config.mediaDir ?? join(config.dataDir, 'media')),
    );
    return 1;
  }
  const onProgress = progressPrinter();
  if (opts.url === undefined) {
    try {
      const db = await backupDatabase(dbPath(config.dataDir), file, { onProgress, busyShare });
      const result: BackupResult = { ...db, media: await copyMedia(config.mediaDir ?? join(config.dataDir, 'media'), mediaDir) };
      console.log(JSON.stringify(result));
      return 0;
    } catch (e) {
      if (!(e instanceof CgiError)) throw e;
      console.error(`cgihost: backup failed: ${e.code}: ${e.message}`);
      return 1;
    }
  }
  return remoteBackup(config, hostUrl(config, opts.url), { file, mediaDir, busyShare }, onProgress);
}

async function remoteBackup(
  config: Config,
  base: string,
  body: { file: string; mediaDir: string; busyShare?: number },
  onProgress: (p: BackupProgress) => void,
): Promise<number> {
  let res;
  try {
    res = await adminRequest(config, base, 'POST', '/_host/api/backup', body);
  } catch (e) {
    console.error(`cgihost: cannot reach the host at ${base}: ${(e as Error).message}`);
    return 1;
  }
  if (res.statusCode !== 200) {
    console.error(`cgihost: backup refused: ${res.statusCode} ${await readAll(res)}`);
    return 1;
  }
  let buffered = '';
  let outcome = 1;
  res.setEncoding('utf8');
  for await (const chunk of res) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const m = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (m.progress) onProgress(m.progress);
      else if (m.done) {
        console.log(JSON.stringify(m.done));
        outcome = 0;
      } else if (m.error) console.error(`cgihost: backup failed: ${m.error.code}: ${m.error.message}`);
    }
  }
  return outcome;
}
