/**
 * A disk that cannot be written (SPEC §10 "A full disk"), as PostgreSQL
 * behaves on one: the write that hit it fails, with 503 STORE_UNAVAILABLE
 * rather than INTERNAL, and nothing that was acknowledged is touched (SQLite
 * rolls the transaction back; an acknowledgement is only ever sent after a
 * COMMIT returned). Nothing is switched off: every later write is tried as
 * usual and fails as fast as the disk refuses it, so the first one after
 * space comes back succeeds, with no restart. Reads never touch the disk's
 * free space and go on. The log says so once when writes start failing and
 * once when they work again, not once per request.
 */
import { CgiError } from '../errors.js';
import type { Logger } from '../log.js';

/** errno codes of a file system that takes no more writes (full, over quota, read-only, failing). */
const STORAGE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

/** SQLITE_FULL, SQLITE_IOERR_* and SQLITE_READONLY_* from better-sqlite3, or a Node fs error with a code above. */
export function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (
    STORAGE_ERRNOS.has(code) ||
    code === 'SQLITE_FULL' ||
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN')
  );
}

export function storeUnavailable(cause: unknown): CgiError {
  return new CgiError('STORE_UNAVAILABLE', 'the store cannot write right now (disk full?); reads still work, try again later', undefined, {
    cause,
  });
}

/** Whether writes work, for the log and the admin API: a line when they stop and one when they come back. */
export class WriteHealth {
  private since: number | null = null;
  private failures = 0;

  constructor(private readonly log: Logger) {}

  /** When writes began to fail (epoch ms), or null while they work. */
  get unavailableSince(): number | null {
    return this.since;
  }

  failed(err: unknown, what: string): void {
    this.failures++;
    if (this.since !== null) return;
    this.since = Date.now();
    this.log.error('store unavailable: writes fail (disk full or read-only?); reads go on, writes are retried as they come', {
      what,
      error: String(err),
    });
  }

  succeeded(): void {
    if (this.since === null) return;
    this.log.warn('store writable again', { unavailableMs: Date.now() - this.since, failedWrites: this.failures });
    this.since = null;
    this.failures = 0;
  }
}
