/** Starts a backup thread (backup-thread.ts) and settles with its result; the thread's death fails it, never hangs it. */
import { Worker } from 'node:worker_threads';
import { CgiError } from '../errors.js';
import type { BackupProgress } from './admin-api.js';
import type { DatabaseBackup } from './backup.js';
import type { BackupThreadData, BackupThreadMessage } from './backup-protocol.js';

export function runBackupThread(
  threadFile: string,
  data: BackupThreadData,
  onProgress?: (p: BackupProgress) => void,
): Promise<DatabaseBackup> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(threadFile, { workerData: data, name: 'cgihost-backup' });
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
    };
    thread.on('message', (m: BackupThreadMessage) => {
      if (m.t === 'progress') onProgress?.({ donePages: m.donePages, totalPages: m.totalPages });
      else if (m.t === 'done') settle(() => resolve(m.result));
      else settle(() => reject(new CgiError(m.code, m.message)));
    });
    thread.on('error', (err) => settle(() => reject(new CgiError('INTERNAL', `the backup thread failed: ${err.message}`))));
    thread.on('exit', (code) =>
      settle(() => reject(new CgiError('INTERNAL', `the backup thread exited (code ${code}) before it finished`))),
    );
  });
}
