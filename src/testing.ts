/**
 * `cgihost/testing`: call a CGI from a test without starting a server. The CGI
 * runs as it does in the host — compiled, in its own worker, with a real store
 * on a temp data dir — only HTTP is left out.
 *
 *   const cgi = await loadCgi(new URL('./hello.ts', import.meta.url));
 *   const res = await cgi.call({ text: 'hi' }, { uid: 'u1' });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileCgi } from './host/compile.js';
import { DIST_DIR } from './host/runtime-paths.js';
import { createLogger } from './log.js';
import { StoreHost } from './store/host.js';
import { CgiWorker } from './worker/cgi-worker.js';
import type { CgiMeta } from './worker/protocol.js';

export interface CallOptions {
  /** The authenticated user the call runs as (no token needed). */
  uid?: string;
  /** Query parameters for GET CGIs (otherwise the input is used as the query). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface CgiResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, string>;
}

export interface LoadedCgi {
  meta: CgiMeta;
  version: string;
  call(input: unknown, opts?: CallOptions): Promise<CgiResult>;
  close(): Promise<void>;
}

let seq = 0;

export async function loadCgi(file: string | URL, opts: { dataDir?: string } = {}): Promise<LoadedCgi> {
  const path = typeof file === 'string' ? file : fileURLToPath(file);
  const compiled = await compileCgi(path);
  const ownDir = opts.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'cgihost-testing-'));
  const log = createLogger({ level: 'warn', format: 'pretty', write: (l) => process.stderr.write(l + '\n') });
  const store = await StoreHost.start({
    threadFile: join(DIST_DIR, 'store-thread.js'),
    dataDir: opts.dataDir ?? ownDir!,
    synchronous: 'NORMAL',
    groupsMaxMembers: 500,
    webhooks: [],
    log,
  });
  const worker = new CgiWorker({
    workerFile: join(DIST_DIR, 'worker.cjs'),
    cgi: 'test',
    file: path,
    version: compiled.version,
    code: compiled.code,
    storePort: store.connect(),
    maxHeapMb: 256,
    heartbeatMs: 1_000,
    onLog: (m) => log.log(m.level, m.msg, m.fields),
    onExit: () => {},
  });
  let meta: CgiMeta;
  try {
    meta = await worker.ready;
  } catch (e) {
    await store.close();
    throw e;
  }
  return {
    meta,
    version: compiled.version,
    async call(input, o = {}) {
      const requestId = `test-${++seq}`;
      const isGet = meta.method === 'GET';
      const reply = await worker.dispatch(
        {
          requestId,
          uid: o.uid,
          ip: '127.0.0.1',
          headers: o.headers ?? {},
          ...(isGet ? { query: input as Record<string, string> } : { json: JSON.stringify(input ?? {}) }),
        },
        o.timeoutMs ?? meta.timeoutMs ?? 10_000,
      );
      if (reply.t === 'res') {
        const text = typeof reply.json === 'string' ? reply.json : Buffer.from(reply.json).toString('utf8');
        return { status: reply.status, body: JSON.parse(text), headers: reply.headers ?? {} };
      }
      return { status: reply.status, body: reply.body, headers: reply.headers };
    },
    async close() {
      await worker.terminate('retired');
      await store.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
