/**
 * One registry of error codes (ENGINEERING habit 1): src/errors.ts and the
 * documentation must agree, code by code and status by status. What the
 * repository holds is checked always: the README's table is the registry
 * exactly, and every other mention of a code with its status in the
 * repository's Markdown (docs/, src/**\/README.md, ...) names a registered
 * code with its status. SPEC.md lives beside the repository in the workspace,
 * not in a clean clone: where it is found, its §3 table is the registry less
 * the codes the README marks as "our addition".
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CgiError,
  CLIENT_ERROR_CODES,
  ERROR_STATUS,
  errorBody,
  HOST_ERROR_EXIT,
  isErrorCode,
  isHostErrorCode,
  OUTCOME_CODES,
  SYSTEM_ERROR_CODES,
} from '../src/errors.js';
import { ROOT } from './helpers/index.js';

const README = join(ROOT, 'README.md');
/** Where the workspace keeps SPEC.md: beside a checkout (../shared) or beside the worktrees' folder (../../shared). */
const SPEC = [process.env.CGIHOST_SPEC, join(ROOT, '..', 'shared', 'SPEC.md'), join(ROOT, '..', '..', 'shared', 'SPEC.md')].find(
  (p): p is string => !!p && existsSync(p),
);

interface Row {
  status: number;
  codes: string[];
  text: string;
}

/** The `| 404 | `A`, `B` |` rows of the first status table after `heading` (`digits`: 3 for statuses, 1 for exit codes). */
function statusRows(markdown: string, heading: RegExp, digits = 3): Row[] {
  const start = markdown.search(heading);
  expect(start, `no ${heading} in the document`).toBeGreaterThanOrEqual(0);
  const rows: Row[] = [];
  for (const line of markdown.slice(start).split('\n')) {
    const m = new RegExp(`^\\|\\s*(\\d{${digits}})\\s*\\|(.*)\\|\\s*$`).exec(line);
    if (m) rows.push({ status: Number(m[1]), codes: [...m[2]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((c) => c[1]!), text: m[2]! });
    else if (rows.length && !line.startsWith('|')) break;
  }
  return rows;
}

const table = (rows: Row[]): Record<string, number> => Object.fromEntries(rows.flatMap((r) => r.codes.map((c) => [c, r.status])));

/** Every code named next to an error status in prose ("404 `NO_SUCH_CGI`", "401\n`BAD_CREDENTIALS`") or in a JSON example. */
function mentions(markdown: string): Array<{ code: string; status?: number }> {
  const out: Array<{ code: string; status?: number }> = [];
  for (const m of markdown.matchAll(/\b([45]\d\d)\s+`([A-Z][A-Z0-9_]{2,})`/g)) out.push({ status: Number(m[1]), code: m[2]! });
  for (const m of markdown.matchAll(/"code"\s*:\s*"([A-Z][A-Z0-9_]{2,})"/g)) out.push({ code: m[1]! });
  return out;
}

/** The repository's own Markdown files, outside node_modules, dist and other generated folders. */
function markdownFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || ['node_modules', 'dist', 'data'].includes(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...markdownFiles(p));
    else if (e.name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** The codes SPEC §6 adds in prose: "New error codes: 403 `A`, `B`; 404 `C`." → { A: 403, B: 403, C: 404 }. */
function proseCodes(markdown: string, heading: RegExp): Record<string, number> {
  const start = markdown.search(heading);
  expect(start, `no ${heading} in the document`).toBeGreaterThanOrEqual(0);
  const m = /New error codes:([\s\S]*?)\./.exec(markdown.slice(start));
  expect(m, 'no "New error codes:" sentence').not.toBeNull();
  const out: Record<string, number> = {};
  for (const [, status, codes] of m![1]!.matchAll(/(\d{3})((?:\s*,?\s*`[A-Z][A-Z0-9_]+`)+)/g)) {
    for (const [, code] of codes!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) out[code!] = Number(status);
  }
  return out;
}

const readme = () => readFileSync(README, 'utf8');
const readmeRows = () => statusRows(readme(), /^## HTTP/m);
/** Codes beyond the SPEC's §3 table: the README marks their rows "our addition", or "beyond §3" (codes of later SPEC sections). */
const additions = () => readmeRows().filter((r) => /our addition|beyond §3/i.test(r.text));

describe('error codes', () => {
  it('the README table lists every registered code with its status, and nothing else', () => {
    expect(existsSync(README), 'README.md').toBe(true);
    expect(table(readmeRows())).toEqual({ ...ERROR_STATUS });
  });

  it("every code the repository's Markdown names with a status is registered with that status", () => {
    const files = markdownFiles();
    expect(files).toContain(README);
    let seen = 0;
    for (const file of files) {
      for (const { code, status } of mentions(readFileSync(file, 'utf8'))) {
        seen++;
        const where = `${relative(ROOT, file)}: ${status ?? ''} ${code}`;
        expect(isErrorCode(code), `${where} is not in src/errors.ts`).toBe(true);
        if (status !== undefined) expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], where).toBe(status);
      }
    }
    // The README names several in its prose (Unknown paths answer 404 `NO_SUCH_CGI`, ...): the scan finds them.
    expect(seen).toBeGreaterThan(3);
  });

  it.runIf(SPEC)(
    "SPEC §3's table and §6's new codes list the same codes with the same statuses, less the README's \"our addition\" rows",
    () => {
      const text = readFileSync(SPEC!, 'utf8');
      const spec = table(statusRows(text, /^## 3\. HTTP/m));
      expect(Object.keys(spec).length).toBeGreaterThan(20);
      const messenger = proseCodes(text, /^## 6\. /m);
      expect(messenger).toEqual({ BLOCKED: 403, NOT_A_CONTACT: 403, RECALL_WINDOW_PASSED: 403, NO_SUCH_MESSAGE: 404 });
      const ours = table(additions());
      for (const code of Object.keys(ours)) {
        expect({ ...spec, ...messenger }, `${code} is marked "our addition" but is in the SPEC`).not.toHaveProperty(code);
      }
      expect({ ...spec, ...messenger, ...ours }).toEqual({ ...ERROR_STATUS });
    },
  );

  it('the API reference (docs/api.md) documents every code with its status', () => {
    const doc = table(statusRows(readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8'), /^## Errors/m));
    expect(doc).toEqual({ ...ERROR_STATUS });
  });

  it('every status is an HTTP error status, and codes are SCREAMING_SNAKE_CASE', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('isErrorCode and errorBody follow the registry', () => {
    expect(isErrorCode('CGI_CRASHED')).toBe(true);
    expect(isErrorCode('NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(errorBody('INTERNAL', 'internal error', 'r1')).toEqual({
      error: { code: 'INTERNAL', message: 'internal error', requestId: 'r1' },
    });
    expect(errorBody('INVALID_INPUT', 'bad', 'r2', [{ path: ['x'] }])).toEqual({
      error: { code: 'INVALID_INPUT', message: 'bad', requestId: 'r2', details: [{ path: ['x'] }] },
    });
  });

  it("splits the codes into the client's fault (4xx) and the system's (5xx), each code once", () => {
    for (const code of CLIENT_ERROR_CODES) expect(ERROR_STATUS[code], code).toBeLessThan(500);
    for (const code of SYSTEM_ERROR_CODES) expect(ERROR_STATUS[code], code).toBeGreaterThanOrEqual(500);
    expect([...CLIENT_ERROR_CODES, ...SYSTEM_ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it('the README lists every code that never reaches a client with its exit code, and no name is used twice', () => {
    const readme = readFileSync(README, 'utf8');
    const exits = table(statusRows(readme, /^Errors that never reach an HTTP client/m, 1));
    expect(exits).toEqual({ ...HOST_ERROR_EXIT });
    for (const code of [...Object.keys(HOST_ERROR_EXIT), ...OUTCOME_CODES]) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(isErrorCode(code), code).toBe(false);
      expect(readme).toContain(`\`${code}\``);
    }
    expect(isHostErrorCode('CONFIG_INVALID')).toBe(true);
    expect(isHostErrorCode('INTERNAL')).toBe(false);
  });

  it('CgiError takes the SPEC form (status first) or derives the status from its code', () => {
    const spec = new CgiError(403, 'FORBIDDEN', 'not allowed');
    expect(spec).toMatchObject({ name: 'CgiError', status: 403, code: 'FORBIDDEN', message: 'not allowed' });
    expect(spec.details).toBeUndefined();
    const derived = new CgiError('GROUP_FULL', 'full', { maxMembers: 2 }, { headers: { 'x-a': 'b' } });
    expect(derived).toMatchObject({ status: 409, code: 'GROUP_FULL', details: { maxMembers: 2 }, headers: { 'x-a': 'b' } });
    expect(new CgiError('CONFIG_INVALID', 'bad key').status).toBe(500);
    const cause = new Error('ENOTDIR');
    expect(new CgiError('CACHE_DIR_UNWRITABLE', 'cannot write', undefined, { cause }).cause).toBe(cause);
  });
});
