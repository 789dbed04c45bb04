/** The key encoding of ctx.kv on its own: byte order is SPEC §8's key order, and decoding gives the key back. */
import { describe, expect, it } from 'vitest';
import { compareBytes, decodeKey, encodeKey, encodePrefix, justAfter, prefixRange } from '../../src/worker/kv-keys.js';

type Part = string | number;

/** SPEC §8's order, written out plainly: part by part, numbers before strings, numbers by value, strings by UTF-8 bytes. */
function specOrder(a: Part[], b: Part[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    if (typeof x === 'number') {
      if (x !== (y as number)) return x < (y as number) ? -1 : 1;
      continue;
    }
    const c = Buffer.compare(Buffer.from(x), Buffer.from(y as string));
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function randomPart(r: () => number): Part {
  const pick = r();
  if (pick < 0.4) {
    const specials = [0, -0, 1, -1, 0.5, -0.5, 1e-300, -1e-300, 1e300, -1e300, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE];
    return r() < 0.3 ? specials[Math.floor(r() * specials.length)]! : (r() - 0.5) * 10 ** Math.floor(r() * 20);
  }
  const alphabet = ['', 'a', 'b', 'z', 'A', '\u0000', '\u0001', '\u007f', 'é', '你', '\uff5a', '😀', '\u{10ffff}'];
  let s = '';
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('kv key encoding', () => {
  it('orders 3,000 random keys exactly as SPEC §8 says, and decodes each back', () => {
    const r = rng(42);
    const keys: Part[][] = Array.from({ length: 3_000 }, () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomPart(r)));
    const byBytes = [...keys].sort((a, b) => compareBytes(encodeKey(a), encodeKey(b)));
    const bySpec = [...keys].sort(specOrder);
    expect(byBytes.map((k) => JSON.stringify(k))).toEqual(bySpec.map((k) => JSON.stringify(k)));
    for (const k of keys) expect(decodeKey(encodeKey(k))).toEqual(k.map((p) => (Object.is(p, -0) ? 0 : p)));
  });

  it('decodes a key held in a Buffer that is a view into a larger one (as SQLite hands BLOBs over), leaving it unchanged', () => {
    const key = ['n', -2.5, 7, 'x'];
    const enc = encodeKey(key);
    const pool = Buffer.alloc(enc.length + 32, 0xaa);
    pool.set(enc, 16);
    const view = pool.subarray(16, 16 + enc.length);
    expect(decodeKey(view)).toEqual(key);
    expect(Buffer.from(view)).toEqual(Buffer.from(enc));
  });

  it('-0 and 0 are one key; NaN, Infinity, lone surrogates and other types are refused', () => {
    expect(encodeKey([-0])).toEqual(encodeKey([0]));
    for (const bad of [[NaN], [Infinity], ['\ud800'], [true], [null], [{}], [[1]], [], Array(9).fill(1)]) {
      expect(() => encodeKey(bad), JSON.stringify(bad)).toThrow(/INVALID|invalid ctx.kv key/);
    }
  });

  it('a prefix range holds exactly the longer keys that start with it', () => {
    const { start, end } = prefixRange(encodePrefix(['user', 'u1']));
    const inside = (k: Part[]) => compareBytes(encodeKey(k), start) >= 0 && compareBytes(encodeKey(k), end) < 0;
    expect(inside(['user', 'u1'])).toBe(false);
    expect(inside(['user', 'u1', 0])).toBe(true);
    expect(inside(['user', 'u1', '\u{10ffff}', 'x'])).toBe(true);
    expect(inside(['user', 'u10'])).toBe(false);
    expect(inside(['user', 'u1\u0000'])).toBe(false);
    expect(inside(['user', 'u0', 'x'])).toBe(false);
    const after = justAfter(encodeKey(['a']));
    expect(compareBytes(after, encodeKey(['a']))).toBeGreaterThan(0);
    expect(compareBytes(after, encodeKey(['a', -1e300]))).toBeLessThan(0);
  });
});
