/**
 * One registry of error codes (ENGINEERING habit 1): src/errors.ts, the
 * SPEC's §3 table and the README's table must agree, code by code and status
 * by status.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { ROOT } from './helpers/host.js';

/** Codes we added beyond the SPEC's table, each documented in the README. */
const ADDITIONS: Record<string, number> = { RANGE_NOT_SATISFIABLE: 416 };

/** `| 404 | `A`, `B` |` rows of the first table after `heading` → { A: 404, B: 404 } (`digits`: 3 for statuses, 1 for exit codes). */
function statusTable(markdown: string, heading: RegExp, digits = 3): Record<string, number> {
  const start = markdown.search(heading);
  expect(start, `no ${heading} in the document`).toBeGreaterThanOrEqual(0);
  const out: Record<string, number> = {};
  let inTable = false;
  for (const line of markdown.slice(start).split('\n')) {
    const m = new RegExp(`^\\|\\s*(\\d{${digits}})\\s*\\|(.*)\\|\\s*$`).exec(line);
    if (m) {
      inTable = true;
      for (const [, code] of m[2]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) out[code!] = Number(m[1]);
    } else if (inTable && !line.startsWith('|')) {
      break;
    }
  }
  return out;
}

const SPEC = join(ROOT, '..', 'shared', 'SPEC.md');
const README = join(ROOT, 'README.md');

describe('error codes', () => {
  // SPEC.md lives beside the repository in the workspace, not in a fresh clone: there the README check stands in for it.
  it.skipIf(!existsSync(SPEC))(
    'SPEC §3 and src/errors.ts list the same codes with the same statuses (plus our documented additions)',
    () => {
      const spec = statusTable(readFileSync(SPEC, 'utf8'), /^## 3\. HTTP/m);
      expect(Object.keys(spec).length).toBeGreaterThan(20);
      expect(ERROR_STATUS).toEqual({ ...spec, ...ADDITIONS });
    },
  );

  it('the README documents every code with its status', () => {
    expect(existsSync(README), 'README.md').toBe(true);
    const readme = statusTable(readFileSync(README, 'utf8'), /^## HTTP/m);
    expect(readme).toEqual({ ...ERROR_STATUS });
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
    const exits = statusTable(readme, /^Errors that never reach an HTTP client/m, 1);
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
