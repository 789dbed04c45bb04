/**
 * SPEC §8 ctx.kv through a real host: key order, paging, prefixes and
 * ranges, versions, atomic writes that write nothing when a check fails (not
 * even their jobs), sums, expiry, group isolation, and bad keys and values
 * answered 400 INVALID_INPUT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost } from '../helpers/index.js';
import { kv, listAll, topic, value, type Key } from './support.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: { 'ga/kva.ts': '@platform/kv.ts', 'gb/kvb.ts': '@platform/kv.ts', 'ga/order.ts': '@platform/kv.ts' },
    config: { watch: false },
  });
});

afterAll(async () => {
  await host?.kill();
});

describe('key order', () => {
  it('numbers before strings, numbers by value, strings by UTF-8 bytes, shorter keys before the longer keys they start', async () => {
    const keys: Key[] = [
      ['k', 'é'],
      ['k', 'a', 'x'],
      ['k', '\uff5a'], // U+FF5A: UTF-8 ef bd 9a, before the emoji's f0...; UTF-16 order would put the emoji first
      ['k', 1e10],
      ['k', '😀'],
      ['k', -1],
      ['k', 'B'],
      ['k', 2.5],
      ['k', 'a'],
      ['k', '你'],
      ['k', -0.5],
      ['k', 'a', 1],
      ['k', ''],
      ['k', 1],
      ['k', 'a\u0000'],
      ['k', -1e300],
      ['k', 0],
    ];
    for (const key of keys) await kv(host, 'order', { op: 'set', key, value: key.join('/') });
    const listed = (await listAll(host, 'order', { prefix: ['k'] })).map((e) => e.key);
    expect(listed).toEqual([
      ['k', -1e300],
      ['k', -1],
      ['k', -0.5],
      ['k', 0],
      ['k', 1],
      ['k', 2.5],
      ['k', 1e10],
      ['k', ''],
      ['k', 'B'],
      ['k', 'a'],
      ['k', 'a', 1],
      ['k', 'a', 'x'],
      ['k', 'a\u0000'],
      ['k', 'é'],
      ['k', '你'],
      ['k', '\uff5a'],
      ['k', '😀'],
    ]);
    const reversed = (await listAll(host, 'order', { prefix: ['k'], reverse: true })).map((e) => e.key);
    expect(reversed).toEqual([...listed].reverse());
  });
});

describe('get, getMany, set, delete, versions', () => {
  it('get answers {key, value, version} or null; every write changes the version', async () => {
    expect((await kv(host, 'kva', { op: 'get', key: ['v', 1] })).body.entry).toBeNull();
    const a = (await kv(host, 'kva', { op: 'set', key: ['v', 1], value: { n: 1, list: [1, 'two', null, true] } })).body.version;
    const got = (await kv(host, 'kva', { op: 'get', key: ['v', 1] })).body.entry;
    expect(got).toEqual({ key: ['v', 1], value: { n: 1, list: [1, 'two', null, true] }, version: a });
    expect(typeof a).toBe('string');
    const b = (await kv(host, 'kva', { op: 'set', key: ['v', 1], value: { n: 1, list: [1, 'two', null, true] } })).body.version;
    expect(b).not.toBe(a);
    await kv(host, 'kva', { op: 'delete', key: ['v', 1] });
    expect((await kv(host, 'kva', { op: 'get', key: ['v', 1] })).body.entry).toBeNull();
    const c = (await kv(host, 'kva', { op: 'set', key: ['v', 1], value: 3 })).body.version;
    expect([a, b]).not.toContain(c);
  });

  it('getMany answers each key in its place', async () => {
    await kv(host, 'kva', { op: 'set', key: ['m', 1], value: 'one' });
    await kv(host, 'kva', { op: 'set', key: ['m', 3], value: 'three' });
    const res = await kv(host, 'kva', {
      op: 'getMany',
      keys: [
        ['m', 3],
        ['m', 2],
        ['m', 1],
      ],
    });
    expect(res.body.entries.map((e: { value: string } | null) => e?.value ?? null)).toEqual(['three', null, 'one']);
    expect((await kv(host, 'kva', { op: 'getMany', keys: [] })).body.entries).toEqual([]);
  });
});

describe('list: paging, prefixes and ranges', () => {
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) await kv(host, 'kva', { op: 'set', key: ['page', i], value: i });
    await kv(host, 'kva', { op: 'set', key: ['page'], value: 'the prefix itself' });
    await kv(host, 'kva', { op: 'set', key: ['pagez', 1], value: 'next door' });
  });

  it('pages of `limit` with a cursor, forward and backward, cover every key once', async () => {
    const first = await kv(host, 'kva', { op: 'list', list: { prefix: ['page'], limit: 10 } });
    expect(first.body.entries.map((e: { value: number }) => e.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(typeof first.body.cursor).toBe('string');
    const all = await listAll(host, 'kva', { prefix: ['page'], limit: 10 });
    expect(all.map((e) => e.value)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const back = await listAll(host, 'kva', { prefix: ['page'], limit: 7, reverse: true });
    expect(back.map((e) => e.value)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
    // A last page that ends exactly at the limit says so without a cursor only once nothing follows.
    const exact = await kv(host, 'kva', { op: 'list', list: { prefix: ['page'], limit: 25 } });
    expect(exact.body.cursor).toBeUndefined();
  });

  it('the default limit is 100; limit over 1000 or under 1 is refused', async () => {
    const bad = await kv(host, 'kva', { op: 'list', list: { limit: 1001 } }, true);
    expect([bad.status, bad.body.error.code]).toEqual([400, 'INVALID_INPUT']);
    const zero = await kv(host, 'kva', { op: 'list', list: { limit: 0 } }, true);
    expect(zero.status).toBe(400);
  });

  it('start is inclusive, end exclusive, alone or inside a prefix', async () => {
    const mid = await kv(host, 'kva', { op: 'list', list: { prefix: ['page'], start: ['page', 5], end: ['page', 8] } });
    expect(mid.body.entries.map((e: { value: number }) => e.value)).toEqual([5, 6, 7]);
    const range = await kv(host, 'kva', { op: 'list', list: { start: ['page', 23], end: ['pagez', 2] } });
    expect(range.body.entries.map((e: { value: unknown }) => e.value)).toEqual([23, 24, 'next door']);
  });

  it('a cursor from another listing is refused', async () => {
    const other = await kv(host, 'kva', { op: 'list', list: { prefix: ['m'], limit: 1 } });
    const res = await kv(host, 'kva', { op: 'list', list: { prefix: ['page'], cursor: other.body.cursor } }, true);
    expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_INPUT']);
    const junk = await kv(host, 'kva', { op: 'list', list: { cursor: '!!' } }, true);
    expect(junk.status).toBe(400);
  });
});

describe('atomic()', () => {
  it('commits checks, sets, deletes, sums and jobs together', async () => {
    await kv(host, 'kva', { op: 'set', key: ['acct', 'a'], value: 100 });
    const a = (await kv(host, 'kva', { op: 'get', key: ['acct', 'a'] })).body.entry;
    const before = (await topic(host, 'nobody'))?.depth ?? 0;
    const res = await kv(host, 'kva', {
      op: 'atomic',
      atomic: {
        checks: [
          { key: ['acct', 'a'], version: a.version },
          { key: ['acct', 'b'], version: null },
        ],
        sets: [{ key: ['acct', 'b'], value: 0 }],
        sums: [
          { key: ['acct', 'a'], n: -30 },
          { key: ['acct', 'b'], n: 30 },
          { key: ['acct', 'count'], n: 1 },
        ],
        deletes: [['acct', 'old']],
        enqueues: [{ topic: 'nobody', payload: { moved: 30 } }],
      },
    });
    expect(res.body.ok).toBe(true);
    expect(typeof res.body.version).toBe('string');
    expect(await value(host, 'kva', ['acct', 'a'])).toBe(70);
    expect(await value(host, 'kva', ['acct', 'b'])).toBe(30);
    expect(await value(host, 'kva', ['acct', 'count'])).toBe(1);
    // The version of every key it wrote is the commit's.
    expect((await kv(host, 'kva', { op: 'get', key: ['acct', 'b'] })).body.entry.version).toBe(res.body.version);
    expect((await topic(host, 'nobody'))!.depth).toBe(before + 1);
  });

  it('a failed check writes nothing: no set, no delete, no sum, no job', async () => {
    await kv(host, 'kva', { op: 'set', key: ['f', 'keep'], value: 'kept' });
    const stale = (await kv(host, 'kva', { op: 'get', key: ['f', 'keep'] })).body.entry.version;
    await kv(host, 'kva', { op: 'set', key: ['f', 'keep'], value: 'kept again' });
    const depth = (await topic(host, 'nobody'))!.depth;
    const res = await kv(host, 'kva', {
      op: 'atomic',
      atomic: {
        checks: [{ key: ['f', 'keep'], version: stale }],
        sets: [{ key: ['f', 'new'], value: 1 }],
        deletes: [['f', 'keep']],
        sums: [{ key: ['f', 'sum'], n: 5 }],
        enqueues: [{ topic: 'nobody', payload: { never: true } }],
      },
    });
    expect(res.body).toEqual({ ok: false });
    expect(await value(host, 'kva', ['f', 'new'])).toBeNull();
    expect(await value(host, 'kva', ['f', 'keep'])).toBe('kept again');
    expect(await value(host, 'kva', ['f', 'sum'])).toBeNull();
    expect((await topic(host, 'nobody'))!.depth).toBe(depth);
    // A null check fails when the key exists.
    const exists = await kv(host, 'kva', {
      op: 'atomic',
      atomic: { checks: [{ key: ['f', 'keep'], version: null }], sets: [{ key: ['f', 'new'], value: 2 }] },
    });
    expect(exists.body).toEqual({ ok: false });
    expect(await value(host, 'kva', ['f', 'new'])).toBeNull();
  });

  it('a sum on a key that holds no number fails the whole write, which writes nothing', async () => {
    await kv(host, 'kva', { op: 'set', key: ['s', 'text'], value: 'not a number' });
    const res = await kv(
      host,
      'kva',
      {
        op: 'atomic',
        atomic: { sets: [{ key: ['s', 'first'], value: 1 }], sums: [{ key: ['s', 'text'], n: 1 }] },
      },
      true,
    );
    expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_INPUT']);
    expect(await value(host, 'kva', ['s', 'first'])).toBeNull();
  });

  it('sums add up within one write and across writes, from 0', async () => {
    const res = await kv(host, 'kva', {
      op: 'atomic',
      atomic: {
        sums: [
          { key: ['s', 'n'], n: 2 },
          { key: ['s', 'n'], n: 3 },
        ],
      },
    });
    expect(res.body.ok).toBe(true);
    await kv(host, 'kva', { op: 'atomic', atomic: { sums: [{ key: ['s', 'n'], n: 0.5 }] } });
    expect(await value(host, 'kva', ['s', 'n'])).toBe(5.5);
  });
});

describe('expiry', () => {
  it('a key set with expireInMs reads as gone once it expires', async () => {
    await kv(host, 'kva', { op: 'set', key: ['ttl'], value: 'brief', expireInMs: 300 });
    expect(await value(host, 'kva', ['ttl'])).toBe('brief');
    await waitFor(async () => (await value(host, 'kva', ['ttl'])) === null, 5_000);
    const listed = await kv(host, 'kva', { op: 'list', list: { start: ['ttl'], end: ['ttm'] } });
    expect(listed.body.entries).toEqual([]);
    // A check against it sees no key.
    const res = await kv(host, 'kva', {
      op: 'atomic',
      atomic: { checks: [{ key: ['ttl'], version: null }], sets: [{ key: ['ttl'], value: 'again' }] },
    });
    expect(res.body.ok).toBe(true);
  });
});

describe('group isolation', () => {
  it('a group sees only its own keys; CGIs of one group share them', async () => {
    await kv(host, 'kva', { op: 'set', key: ['shared', 'x'], value: 'group a' });
    expect(await value(host, 'kvb', ['shared', 'x'])).toBeNull();
    await kv(host, 'kvb', { op: 'set', key: ['shared', 'x'], value: 'group b' });
    expect(await value(host, 'kva', ['shared', 'x'])).toBe('group a');
    expect(await value(host, 'kvb', ['shared', 'x'])).toBe('group b');
    // order.ts is in group ga too.
    expect(await value(host, 'order', ['shared', 'x'])).toBe('group a');
    const b = await listAll(host, 'kvb');
    expect(b.map((e) => e.key)).toEqual([['shared', 'x']]);
  });
});

describe('bad keys and values: 400 INVALID_INPUT, nothing written', () => {
  const bad = async (body: Record<string, unknown>, message: RegExp) => {
    const res = await kv(host, 'kvb', body, true);
    expect([res.status, res.body.error.code], JSON.stringify(body).slice(0, 100)).toEqual([400, 'INVALID_INPUT']);
    expect(res.body.error.message).toMatch(message);
  };

  it('keys: empty, too many parts, not strings or numbers, too long', async () => {
    await bad({ op: 'set', key: [], value: 1 }, /1 to 8 parts/);
    await bad({ op: 'set', key: [1, 2, 3, 4, 5, 6, 7, 8, 9], value: 1 }, /1 to 8 parts/);
    await bad({ op: 'set', key: ['a', { no: 1 }], value: 1 }, /strings or numbers/);
    await bad({ op: 'set', key: ['a', true], value: 1 }, /strings or numbers/);
    await bad({ op: 'set', key: 'not an array', value: 1 }, /array/);
    await bad({ op: 'set', key: ['x'.repeat(2100)], value: 1 }, /2048 bytes/);
    await bad({ op: 'get', key: [] }, /1 to 8 parts/);
    await bad({ op: 'getMany', keys: Array.from({ length: 101 }, (_, i) => [i]) }, /at most 100/);
  });

  it('values over 64 KiB, and atomic writes past their limits', async () => {
    await bad({ op: 'set', key: ['big'], value: 'x'.repeat(64 * 1024) }, /65536 bytes/);
    // Multi-byte characters count as their UTF-8 bytes.
    await bad({ op: 'set', key: ['big'], value: '你'.repeat(22_000) }, /65536 bytes/);
    await bad({ op: 'atomic', atomic: { sums: [{ key: ['n'], n: 'one' }] } }, /finite number/);
    await bad({ op: 'send', topic: 'Not A Topic', payload: 1 }, /topic/);
    await bad({ op: 'send', topic: 'fanout', payload: 1 }, /host's own/);
    expect(await listAll(host, 'kvb')).toHaveLength(1);
  });
});
