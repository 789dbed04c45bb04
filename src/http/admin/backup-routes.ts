/**
 * POST /_host/api/backup {"file": "/abs/path.db", "mediaDir"?: "/abs/dir", "busyShare"?: 0.05–1}
 * (SPEC §10, `cgihost backup --url`): an online backup of the database made
 * while the host serves, then the media files `mediaDir` lacks. A bad request
 * is refused with the usual error envelope; once the copy starts the answer
 * is 200 and NDJSON, one line per progress report
 * (`{"progress": {"donePages", "totalPages"}}`, a few a second) and a last
 * line `{"done": {...}}` or `{"error": {"code", "message"}}`: a long backup
 * shows where it is, and a proxy's idle timeout never cuts it.
 */
import { z } from 'zod';
import { CgiError, isErrorCode } from '../../errors.js';
import type { BackupProgress, BackupResult } from '../../store/admin-api.js';
import type { AdminRoute } from './router.js';

export interface BackupTaker {
  backup(a: { file: string; mediaDir?: string; busyShare?: number }, onProgress?: (p: BackupProgress) => void): Promise<BackupResult>;
}

const BackupSchema = z.strictObject({
  file: z.string().startsWith('/', 'file must be an absolute path'),
  mediaDir: z.string().startsWith('/', 'mediaDir must be an absolute path').optional(),
  busyShare: z.number().min(0.05).max(1).optional(),
});

export function backupRoutes(store: BackupTaker): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/_host/api/backup',
      async handle({ res, body }) {
        const parsed = BackupSchema.safeParse(await body());
        if (!parsed.success)
          throw new CgiError('INVALID_INPUT', 'expected {"file": "/abs/path", "mediaDir"?, "busyShare"?}', parsed.error.issues);
        let started = false;
        const start = () => {
          if (started) return;
          started = true;
          res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
        };
        try {
          const result = await store.backup(parsed.data, (progress) => {
            start();
            res.write(`${JSON.stringify({ progress })}\n`);
          });
          start();
          res.end(`${JSON.stringify({ done: result })}\n`);
        } catch (e) {
          // Refused before the copy began (a bad target): the usual error answer.
          if (!started) throw e;
          const code = e instanceof CgiError && isErrorCode(e.code) ? e.code : 'INTERNAL';
          res.end(`${JSON.stringify({ error: { code, message: (e as Error).message } })}\n`);
        }
      },
    },
  ];
}
