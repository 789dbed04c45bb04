/**
 * Compiles one CGI file (and the local modules it imports) to a single
 * CommonJS script in the host, so workers load plain JavaScript. `cgihost`,
 * `zod` and any other package stay external: the worker supplies the first two
 * and resolves the rest from the CGI's own folder.
 */
import { build, type Message } from 'esbuild';
import { createHash } from 'node:crypto';
import { relative, resolve } from 'node:path';
import { CgiError } from '../errors.js';

export interface CompiledCgi {
  code: string;
  /** Content hash of the compiled code: the `x-cgi-version` of everything it serves. */
  version: string;
  /** Absolute paths of every local file bundled in (the CGI and its helpers). */
  inputs: string[];
}

/** Where a CGI_COMPILE_FAILED error points: the file (the CGI or a helper it imports) and line. */
export interface CompileFailure {
  file: string;
  line?: number;
}

function compileFailed(at: CompileFailure, message: string): CgiError {
  return new CgiError('CGI_COMPILE_FAILED', message, at);
}

/** The file and line of a compile error, or undefined for any other error. */
export function compileFailure(e: unknown): CompileFailure | undefined {
  return e instanceof CgiError && e.code === 'CGI_COMPILE_FAILED' ? (e.details as CompileFailure) : undefined;
}

export async function compileCgi(file: string): Promise<CompiledCgi> {
  let result;
  try {
    result = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      // Nothing is written; this only makes the map's source paths relative to the CGI's own folder.
      outfile: file.replace(/\.[mc]?ts$/, '') + '.cgi.js',
      metafile: true,
      logLevel: 'silent',
    });
  } catch (e) {
    const first: Message | undefined = (e as { errors?: Message[] }).errors?.[0];
    if (!first) throw compileFailed({ file }, String(e));
    const loc = first.location;
    const where = loc ? `${resolve(loc.file)}:${loc.line}:${loc.column}` : file;
    throw compileFailed({ file: loc ? resolve(loc.file) : file, line: loc?.line }, `${where}: ${first.text}`);
  }
  const code = result.outputFiles[0]!.text;
  const version = createHash('sha256').update(code).digest('hex').slice(0, 12);
  const cwd = process.cwd();
  const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(cwd, p));
  return { code, version, inputs };
}

/**
 * Starts compiling `files` at once (at start-up, while the store opens): each
 * file's promise, for its first load to take instead of compiling again. A
 * failure is the load's to report, so nobody else hears of it.
 */
export function precompile(files: readonly string[]): Map<string, Promise<CompiledCgi>> {
  const early = new Map<string, Promise<CompiledCgi>>();
  for (const file of files) {
    const compiling = compileCgi(file);
    compiling.catch(() => {});
    early.set(file, compiling);
  }
  return early;
}

export function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}
