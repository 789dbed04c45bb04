/** Messages between the host and its backup thread (backup-thread.ts). */
import type { ErrorCode } from '../errors.js';
import type { DatabaseBackup } from './backup.js';

export interface BackupThreadData {
  dbFile: string;
  file: string;
  busyShare?: number;
}

export type BackupThreadMessage =
  | { t: 'progress'; donePages: number; totalPages: number }
  | { t: 'done'; result: DatabaseBackup }
  | { t: 'failed'; code: ErrorCode; message: string };
