/** `cgihost check`: compile and load every CGI in a worker, as the host would; non-zero exit on any error. */
import { MessageChannel } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { CgiWorker } from '../worker/cgi-worker.js';
import { listServedCgiFiles } from './cgi-files.js';
import { compileCgi, shortPath } from './compile.js';
import { runtimePaths } from './runtime-paths.js';

export async function checkCgis(config: Config): Promise<number> {
  const { workerFile, builtinCgisDir } = runtimePaths();
  const files = listServedCgiFiles(config.cgisDir, builtinCgisDir);
  if (files.length === 0) {
    console.error(`no CGIs found in ${config.cgisDir}`);
    return 1;
  }
  const seen = new Map<string, string>();
  let failures = 0;
  const results = await Promise.all(
    files.map(async (f) => {
      try {
        const compiled = await compileCgi(f.file);
        const { port1, port2 } = new MessageChannel();
        const w = new CgiWorker({
          workerFile,
          cgi: f.name,
          file: f.file,
          version: compiled.version,
          code: compiled.code,
          storePort: port2,
          maxHeapMb: config.cgiDefaults.maxHeapMb,
          heartbeatMs: 1_000,
          onLog: () => {},
          onExit: () => {},
        });
        try {
          const meta = await w.ready;
          return { f, ok: true as const, detail: `${compiled.version} ${meta.method} auth=${meta.auth}` };
        } finally {
          port1.close();
          await w.terminate('retired');
        }
      } catch (e) {
        return { f, ok: false as const, detail: (e as Error).message };
      }
    }),
  );
  for (const r of results) {
    let { ok, detail } = r;
    const owner = seen.get(r.f.name + (r.f.canary ? '.canary' : ''));
    if (ok && owner) {
      ok = false;
      detail = `CGI name "${r.f.name}" is already served by ${owner}`;
    }
    seen.set(r.f.name + (r.f.canary ? '.canary' : ''), shortPath(r.f.file));
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${r.f.group}/${r.f.name}${r.f.canary ? ' (canary)' : ''}  ${shortPath(r.f.file)}  ${detail}`);
  }
  console.log(failures ? `${failures} of ${files.length} CGIs failed` : `all ${files.length} CGIs ok`);
  return failures ? 1 : 0;
}
