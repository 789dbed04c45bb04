/**
 * `cgihost check`: compile and load every CGI in a worker, as the host would,
 * and type-check them against the SDK's types; non-zero exit on any error.
 */
import { MessageChannel } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { CgiWorker } from '../worker/cgi-worker.js';
import { listServedCgiFiles } from './cgi-files.js';
import { compileCgi, shortPath } from './compile.js';
import { runtimePaths } from './runtime-paths.js';
import { formatIssue, typeCheckUnavailable, type TypeIssue } from './typecheck.js';
import { TypeWatch } from './type-watch.js';
import { writeEditorConfig } from './editor-config.js';

export async function checkCgis(config: Config): Promise<number> {
  const { workerFile, builtinCgisDir } = runtimePaths();
  const files = listServedCgiFiles(config.cgisDir, builtinCgisDir);
  if (files.length === 0) {
    console.error(`no CGIs found in ${config.cgisDir}`);
    return 1;
  }
  const seen = new Map<string, string>();
  let failures = 0;
  // In a thread of its own, while the workers load.
  const typesChecked = checkTypes(
    config.cgisDir,
    files.filter((f) => !builtinCgisDir || !f.file.startsWith(builtinCgisDir)).map((f) => f.file),
  );
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
  const types = await typesChecked;
  for (const r of results) {
    let { ok, detail } = r;
    const owner = seen.get(r.f.name + (r.f.canary ? '.canary' : ''));
    if (ok && owner) {
      ok = false;
      detail = `CGI name "${r.f.name}" is already served by ${owner}`;
    }
    seen.set(r.f.name + (r.f.canary ? '.canary' : ''), shortPath(r.f.file));
    const own = types.byFile.get(r.f.file) ?? [];
    types.byFile.delete(r.f.file);
    if (ok && own.length) {
      ok = false;
      detail = `${own.length} type error${own.length > 1 ? 's' : ''}`;
    }
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${r.f.group}/${r.f.name}${r.f.canary ? ' (canary)' : ''}  ${shortPath(r.f.file)}  ${detail}`);
    for (const i of own) console.log(`     ${formatIssue(i, shortPath(i.file))}`);
  }
  // Errors in helpers (and anything not tied to one CGI file).
  for (const [file, issues] of types.byFile) {
    failures++;
    console.log(`FAIL ${shortPath(file)}`);
    for (const i of issues) console.log(`     ${formatIssue(i, shortPath(i.file))}`);
  }
  if (types.skipped) console.log(`types not checked: ${types.skipped}`);
  console.log(
    failures
      ? `${failures} of ${files.length} CGIs failed`
      : `all ${files.length} CGIs ok${types.skipped ? ' (types not checked)' : ', types included'}`,
  );
  return failures ? 1 : 0;
}

/** Type errors of the cgis folder's CGIs (and the helpers they import), by file. */
async function checkTypes(cgisDir: string, files: string[]): Promise<{ byFile: Map<string, TypeIssue[]>; skipped?: string }> {
  const byFile = new Map<string, TypeIssue[]>();
  const unavailable = typeCheckUnavailable();
  if (unavailable) return { byFile, skipped: unavailable };
  if (files.length === 0) return { byFile };
  // A standalone cgis folder gets the editor config too, so the author sees the same errors while typing.
  writeEditorConfig(cgisDir);
  const thread = new TypeWatch(cgisDir);
  let issues: TypeIssue[];
  try {
    issues = await thread.check(files);
  } finally {
    await thread.stop();
  }
  for (const i of issues) {
    const list = byFile.get(i.file) ?? [];
    list.push(i);
    byFile.set(i.file, list);
  }
  return { byFile };
}
