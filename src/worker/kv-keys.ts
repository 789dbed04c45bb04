/**
 * ctx.kv keys as bytes that sort the way SPEC §8 says keys sort: part by
 * part, numbers before strings, numbers by value, strings by their UTF-8
 * bytes. A key is encoded in the worker; the store compares bytes only
 * (SQLite BLOB and PostgreSQL bytea both compare with memcmp), so every engine
 * orders keys the same way.
 *
 * Each part is a tag byte and a self-delimiting body, so comparing two
 * encoded keys byte by byte compares them part by part, and a key sorts
 * before every longer key it is a prefix of:
 *   number  0x02, then the IEEE 754 double big-endian, sign bit flipped for
 *           positives and every bit flipped for negatives (so bytes order as values)
 *   string  0x03, then the UTF-8 bytes with 0x00 written 0x00 0xFF, then 0x00
 */
import { CgiError } from '../index.js';

export type KvKeyPart = string | number;
export type KvKey = readonly KvKeyPart[];

export const MAX_KEY_PARTS = 8;
export const MAX_KEY_BYTES = 2048;

const NUMBER = 0x02;
const STRING = 0x03;
/** Greater than every tag: the end of "everything under this prefix". */
const AFTER_ALL = 0xff;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function invalidKey(message: string): never {
  throw new CgiError(400, 'INVALID_INPUT', `invalid ctx.kv key: ${message}`);
}

/** Checks a key (1 to 8 parts, each a string or a finite number) and encodes it. */
export function encodeKey(key: unknown, what = 'key'): Uint8Array {
  if (!Array.isArray(key)) invalidKey(`${what} must be an array of strings and numbers`);
  if (key.length < 1 || key.length > MAX_KEY_PARTS) invalidKey(`${what} must have 1 to ${MAX_KEY_PARTS} parts, not ${key.length}`);
  return encodeParts(key, what);
}

/** A prefix may be empty (every key of the group). */
export function encodePrefix(prefix: unknown): Uint8Array {
  if (!Array.isArray(prefix)) invalidKey('prefix must be an array of strings and numbers');
  if (prefix.length > MAX_KEY_PARTS - 1) invalidKey(`prefix must have at most ${MAX_KEY_PARTS - 1} parts`);
  return encodeParts(prefix, 'prefix');
}

function encodeParts(parts: readonly unknown[], what: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const p of parts) {
    let chunk: Uint8Array;
    if (typeof p === 'number') {
      if (!Number.isFinite(p)) invalidKey(`${what} parts must be finite numbers or strings (got ${p})`);
      chunk = encodeNumber(p);
    } else if (typeof p === 'string') {
      chunk = encodeString(p);
    } else {
      invalidKey(`${what} parts must be strings or numbers (got ${p === null ? 'null' : typeof p})`);
    }
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_KEY_BYTES) invalidKey(`${what} is over ${MAX_KEY_BYTES} bytes encoded`);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function encodeNumber(n: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = NUMBER;
  // -0 and 0 are one key.
  new DataView(out.buffer).setFloat64(1, n === 0 ? 0 : n, false);
  if (out[1]! & 0x80) {
    for (let i = 1; i < 9; i++) out[i] = ~out[i]! & 0xff;
  } else {
    out[1]! |= 0x80;
  }
  return out;
}

function encodeString(s: string): Uint8Array {
  if (!s.isWellFormed()) invalidKey('string parts must be well-formed Unicode (no lone surrogates)');
  const utf8 = encoder.encode(s);
  let zeros = 0;
  for (const b of utf8) if (b === 0) zeros++;
  const out = new Uint8Array(utf8.length + zeros + 2);
  out[0] = STRING;
  let at = 1;
  for (const b of utf8) {
    out[at++] = b;
    if (b === 0) out[at++] = 0xff;
  }
  out[at] = 0;
  return out;
}

/** The parts of an encoded key (throws on bytes no key encodes to). */
export function decodeKey(bytes: Uint8Array): KvKeyPart[] {
  const parts: KvKeyPart[] = [];
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++];
    if (tag === NUMBER) {
      if (i + 8 > bytes.length) throw new Error('truncated number in a kv key');
      // A copy (a Buffer's slice would share, and be changed): the bytes may come from SQLite as a Buffer.
      const b = new Uint8Array(8);
      b.set(bytes.subarray(i, i + 8));
      if (b[0]! & 0x80) b[0]! &= 0x7f;
      else for (let j = 0; j < 8; j++) b[j] = ~b[j]! & 0xff;
      parts.push(new DataView(b.buffer).getFloat64(0, false));
      i += 8;
    } else if (tag === STRING) {
      const out: number[] = [];
      for (;;) {
        if (i >= bytes.length) throw new Error('unterminated string in a kv key');
        const b = bytes[i++]!;
        if (b !== 0) out.push(b);
        else if (bytes[i] === 0xff) {
          out.push(0);
          i++;
        } else break;
      }
      parts.push(decoder.decode(new Uint8Array(out)));
    } else {
      throw new Error(`bad tag ${tag} in a kv key`);
    }
  }
  return parts;
}

/** [start, end) of every key strictly under `prefix` (longer than it, starting with it). */
export function prefixRange(prefix: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  return { start: concat(prefix, [0x00]), end: concat(prefix, [AFTER_ALL]) };
}

/** The smallest byte string greater than `key`: where a forward page continues. */
export function justAfter(key: Uint8Array): Uint8Array {
  return concat(key, [0x00]);
}

/** Greater than any encoded key: the open end of a range. */
export const KEY_SPACE_END = new Uint8Array([AFTER_ALL]);

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function concat(a: Uint8Array, tail: number[]): Uint8Array {
  const out = new Uint8Array(a.length + tail.length);
  out.set(a);
  out.set(tail, a.length);
  return out;
}
