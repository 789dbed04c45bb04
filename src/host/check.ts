/** `cgihost check`: compile and load every CGI in a worker, as the host would; non-zero exit on any error. */
import { MessageChannel } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { CgiWorker } from '../worker/cgi-worker.js';
import { listServedCgiFiles } from './cgi-files.js';
import { compileCgi, shortPath } from './compile.js';
import { runtimePaths } from './runtime-paths.js';
import { groupEnv } from './group-env.js';
import { parseCron } from './schedule-clock.js';

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
          spec: {
            cgi: f.name,
            group: f.group,
            file: f.file,
            version: compiled.version,
            code: compiled.code,
            storePort: port2,
            env: groupEnv(config, f.group),
            fetchAllow: config.cgiGroups[f.group]?.fetchAllow ?? [],
            defaultTimeoutMs: config.cgiDefaults.timeoutMs,
          },
          maxHeapMb: config.cgiDefaults.maxHeapMb,
          heartbeatMs: 1_000,
          onLog: () => {},
          onExit: () => {},
        });
        try {
          const meta = await w.ready;
          const detail =
            meta.kind === 'cgi'
              ? `${meta.method} auth=${meta.auth}`
              : meta.kind === 'consumer'
                ? `consumer of ${meta.topic}`
                : (() => {
                    parseCron(meta.cron);
                    return `schedule ${meta.cron}`;
                  })();
          return { f, ok: true as const, detail: `${compiled.version} ${detail}` };
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
