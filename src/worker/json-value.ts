/**
 * Values that ctx.kv stores and ctx.queue carries are JSON values: checked
 * here, in the worker, so that a CGI passing something JSON would silently
 * change (undefined, NaN, a Date, a Map, a cycle) gets a clear error instead.
 */
import { CgiError } from '../index.js';

export const MAX_VALUE_BYTES = 64 * 1024;
const MAX_DEPTH = 64;

/** Checks `v` is a JSON value and returns its JSON text (at most `maxBytes` of UTF-8). */
export function toJsonText(v: unknown, what: string, maxBytes = MAX_VALUE_BYTES): string {
  check(v, what, 0, new Set());
  const text = JSON.stringify(v);
  // Only count bytes when the characters alone could pass the bound.
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes)) {
    throw new CgiError(400, 'INVALID_INPUT', `${what} is over ${maxBytes} bytes as JSON`);
  }
  return text;
}

function check(v: unknown, what: string, depth: number, seen: Set<object>): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(what, `a number that JSON cannot hold (${v})`);
    return;
  }
  if (typeof v !== 'object') bad(what, `${typeof v}`);
  if (depth >= MAX_DEPTH) bad(what, `nesting deeper than ${MAX_DEPTH}`);
  if (seen.has(v)) bad(what, 'a cycle');
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v) || v[i] === undefined) bad(what, `an array with a hole or undefined at [${i}]`);
      check(v[i], what, depth + 1, seen);
    }
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) bad(what, `a ${(v as object).constructor?.name ?? 'non-plain'} object`);
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) bad(what, `undefined at "${k}"`);
      check(x, what, depth + 1, seen);
    }
  }
  seen.delete(v);
}

function bad(what: string, found: string): never {
  throw new CgiError(400, 'INVALID_INPUT', `${what} must be a JSON value; found ${found}`);
}
