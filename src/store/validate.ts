/**
 * The store's own checks. CGIs validate their input with zod first; these guard
 * the database's integrity against a CGI that did not (any CGI may call the store).
 */
import { CgiError } from '../errors.js';

export function invalid(message: string, details?: unknown): never {
  throw new CgiError('INVALID_INPUT', message, details);
}

export function requireString(v: unknown, name: string, maxLength: number): asserts v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    invalid(`${name} must be a string of 1 to ${maxLength} characters`);
  }
  if (v.includes('\0')) invalid(`${name} must not contain U+0000 (NUL)`);
}

export function requireUidList(v: unknown, name: string): asserts v is string[] {
  if (!Array.isArray(v) || v.some((u) => typeof u !== 'string')) invalid(`${name} must be a list of uids`);
}

/** Length in Unicode code points, counted only when UTF-16 length could exceed `max`. */
export function codePointsAtMost(s: string, max: number): boolean {
  if (s.length <= max) return true;
  if (s.length > max * 2) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return false;
  return true;
}

export function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** A page size or time bound: undefined gives the default, a non-number is refused, the rest is clamped into [min, max]. */
export function clampInt(v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid('expected a number');
  return Math.min(max, Math.max(min, Math.trunc(v)));
}

export const MAX_SYNC_LIMIT = 500;
export const MAX_SYNC_TIMEOUT_MS = 30_000;

/** A sync's arguments checked (every engine's, and a worker's own read): its page size and hold time. */
export function syncBounds(a: { uid: unknown; syncKey: unknown; limit?: unknown; timeoutMs?: unknown }): {
  limit: number;
  timeoutMs: number;
} {
  if (typeof a?.uid !== 'string') invalid('uid is required');
  if (!Number.isSafeInteger(a.syncKey) || (a.syncKey as number) < 0) invalid('syncKey must be a non-negative integer');
  return { limit: clampInt(a.limit, 1, MAX_SYNC_LIMIT, 100), timeoutMs: clampInt(a.timeoutMs, 0, MAX_SYNC_TIMEOUT_MS, 0) };
}
