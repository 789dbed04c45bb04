/**
 * One registry of error codes (ENGINEERING habit 1): src/errors.ts, the
 * SPEC's §3 table and the README's table must agree, code by code and status
 * by status.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, errorBody, isErrorCode } from '../src/errors.js';
import { ROOT } from './helpers/host.js';

/** Codes we added beyond the SPEC's table, each documented in the README. */
const ADDITIONS: Record<string, number> = { RANGE_NOT_SATISFIABLE: 416, NO_SUCH_JOB: 404, NO_SUCH_MOMENT: 404 };

/** `| 404 | `A`, `B` |` rows of the first table after `heading` → { A: 404, B: 404 }. */
function statusTable(markdown: string, heading: RegExp): Record<string, number> {
  const start = markdown.search(heading);
  expect(start, `no ${heading} in the document`).toBeGreaterThanOrEqual(0);
  const out: Record<string, number> = {};
  let inTable = false;
  for (const line of markdown.slice(start).split('\n')) {
    const m = /^\|\s*(\d{3})\s*\|(.*)\|\s*$/.exec(line);
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
});
