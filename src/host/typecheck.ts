/**
 * Type-checking CGIs against the SDK's types with TypeScript's compiler API.
 * esbuild (which compiles CGIs) strips types without checking them, so a
 * `const n: number = input.text` would otherwise go live. TypeScript is a
 * dependency of the npm package and is loaded only when a check runs; the
 * single binary carries neither it nor the SDK's sources, and says so.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type * as TS from 'typescript';
import { DIST_DIR } from './runtime-paths.js';

export type TypeScript = typeof TS;

export interface TypeIssue {
  file: string;
  line: number;
  column: number;
  /** TypeScript's error number (TS2322 is 2322). */
  code: number;
  message: string;
}

/** Where the SDK's types are: the host's own typed sources beside dist/, and the zod and node types it was built with. */
export interface SdkTypes {
  cgihost: string;
  testing: string;
  zod: string;
  /** A folder holding node/ (the @types/node of the host). */
  typeRoot: string;
}

let ts: TypeScript | null | undefined;
// Resolves from dist/'s place, lazily: inside the single binary that place is not on disk.
const hostRequire = (id: string) => createRequire(join(DIST_DIR, 'typecheck.cjs'))(id) as unknown;
hostRequire.resolve = (id: string) => createRequire(join(DIST_DIR, 'typecheck.cjs')).resolve(id);

/** TypeScript, or null where it is not installed (the single binary). Loading it costs ~50 MB: only checks do. */
export function loadTypeScript(): TypeScript | null {
  if (ts === undefined) {
    try {
      ts = hostRequire('typescript') as TypeScript;
    } catch {
      ts = null;
    }
  }
  return ts;
}

function typeScriptInstalled(): boolean {
  try {
    hostRequire.resolve('typescript');
    return true;
  } catch {
    return false;
  }
}

export function sdkTypes(): SdkTypes | null {
  const root = resolve(DIST_DIR, '..');
  const cgihost = join(root, 'src', 'index.ts');
  if (!existsSync(cgihost)) return null;
  try {
    const req = createRequire(join(root, 'package.json'));
    return {
      cgihost,
      testing: join(root, 'src', 'testing.ts'),
      zod: dirname(req.resolve('zod/package.json')),
      typeRoot: dirname(dirname(req.resolve('@types/node/package.json'))),
    };
  } catch {
    return null;
  }
}

/** Why types cannot be checked here, or null when they can. */
export function typeCheckUnavailable(): string | null {
  if (!typeScriptInstalled()) return 'TypeScript is not installed beside the host (the single binary does not carry it)';
  if (!sdkTypes()) return "the SDK's type sources are not beside the host (the single binary does not carry them)";
  return null;
}

/** The compiler options of a cgis folder: what the generated tsconfig.json says, with `cgihost` and `zod` mapped to the host's. */
export function cgiCompilerOptions(sdk: SdkTypes) {
  return {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    lib: ['ES2022', 'ES2024.String'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    isolatedModules: true,
    allowImportingTsExtensions: true,
    types: ['node'],
    typeRoots: [sdk.typeRoot],
    paths: { cgihost: [sdk.cgihost], 'cgihost/testing': [sdk.testing], zod: [sdk.zod], 'zod/*': [`${sdk.zod}/*`] },
  };
}

/**
 * Checks `files` (CGIs, and the helpers they import come along); reports the
 * issues in files under `cgisDir` only (the SDK's own sources are not the
 * author's business). `previous` speeds up a re-check (unchanged files are reused).
 */
export function typeCheck(
  ts: TypeScript,
  sdk: SdkTypes,
  files: string[],
  cgisDir: string,
  previous?: TS.Program,
): { issues: TypeIssue[]; program: TS.Program } {
  const { options, errors } = ts.convertCompilerOptionsFromJson(cgiCompilerOptions(sdk), cgisDir);
  if (errors.length) throw new Error(ts.flattenDiagnosticMessageText(errors[0]!.messageText, '\n'));
  const program = ts.createProgram({ rootNames: files, options, oldProgram: previous });
  const inside = (f: string) => {
    const r = relative(cgisDir, f);
    return r !== '' && !r.startsWith('..') && !r.split(sep).includes('node_modules');
  };
  const diagnostics: TS.Diagnostic[] = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const sf of program.getSourceFiles()) {
    if (!inside(sf.fileName)) continue;
    diagnostics.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  const issues = diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return { file: cgisDir, line: 0, column: 0, code: d.code, message };
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return { file: resolve(d.file.fileName), line: line + 1, column: character + 1, code: d.code, message };
  });
  return { issues, program };
}

export function formatIssue(i: TypeIssue, shown = i.file): string {
  return `${shown}:${i.line}:${i.column} - error TS${i.code}: ${i.message}`;
}
