/**
 * The thread a running host makes a backup in (bundled as
 * dist/backup-thread.js): the copy reads and writes a whole database and
 * sleeps between its steps, so it gets a thread of its own and never holds up
 * the store's writer or the HTTP front.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CgiError, isErrorCode } from '../errors.js';
import { backupDatabase } from './backup.js';
import type { BackupThreadData, BackupThreadMessage } from './backup-protocol.js';

const data = workerData as BackupThreadData;
const post = (m: BackupThreadMessage) => parentPort!.postMessage(m);
let lastPost = 0;

backupDatabase(data.dbFile, data.file, {
  busyShare: data.busyShare,
  onProgress: (p) => {
    const now = Date.now();
    // Ten reports a second are plenty for a progress display.
    if (now - lastPost < 100 && p.donePages < p.totalPages) return;
    lastPost = now;
    post({ t: 'progress', ...p });
  },
}).then(
  (result) => post({ t: 'done', result }),
  (err: unknown) => {
    const e = err as Error;
    post({
      t: 'failed',
      code: err instanceof CgiError && isErrorCode(err.code) ? err.code : 'INTERNAL',
      message: e instanceof Error ? e.message : String(err),
    });
  },
);
