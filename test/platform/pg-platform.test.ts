/**
 * ctx.kv and schedule leases on PostgreSQL (SPEC §8, §9): the same calls run
 * on the SQLite Platform and on PgPlatform and must answer alike; atomic
 * checks hold under concurrent writers of two hosts; each firing of a
 * schedule is leased to one host. Each test gets a fresh database. Needs
 * PostgreSQL (helpers/postgres.ts): skipped without. The queue's side is in
 * pg-queue.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PgPlatform } from '../../src/store/pg/platform.js';
import { encodePrefix, KEY_SPACE_END, prefixRange } from '../../src/worker/kv-keys.js';
import { PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { openStore, type Opened } from '../store/support.js';
import { cleanups, database, FAST, host, k, OWNER, set, write } from './pg-support.js';

pgSkipNote('pg-platform.test');

describe.skipIf(PG_SKIP)('ctx.kv on PostgreSQL answers what SQLite answers', () => {
  beforeAll(() => void requirePg());

  it('get, list order and paging, atomic checks, sums, jobs-only writes, expiry and refusals', async () => {
    const sqlite: Opened = openStore({ queue: FAST });
    cleanups.push(() => sqlite.cleanup());
    const pg = await host(await database(), 'h1');
    const engines = [sqlite.store.platform, pg.platform] as const;
    /** Runs one call on both engines; its outcome (a value, or an error's code and message) as comparable JSON. */
    const both = async (call: (p: (typeof engines)[number]) => Promise<unknown>) => {
      const out = [];
      for (const p of engines) {
        try {
          out.push(normalize(await call(p)));
        } catch (e) {
          out.push({ error: (e as { code?: string }).code, message: (e as Error).message });
        }
      }
      expect(out[1]).toEqual(out[0]);
      return out[0] as never;
    };

    // Keys that sort part by part: numbers before strings, numbers by value, strings by UTF-8 bytes.
    const keys = [k('a'), k('a', 1), k('a', -5), k('a', 2.5), k('a', 'z'), k('a', 'é'), k('a', 'Z'), k(10), k(-1), k('b', 'x', 3)];
    await both((p) => p.kvCommit(write(keys.map((key, i) => set(key, { i }))), OWNER));
    await both((p) => p.kvCommit(write([set(k('other'), 1)]), { group: 'g2', unit: 'g2/x' }));
    await both((p) => p.kvGet({ keys: [k('a', 1), k('nope'), k('other'), k('a')] }, OWNER));
    const all = { start: new Uint8Array(0), end: KEY_SPACE_END, limit: 1001, reverse: false };
    const listed = await both((p) => p.kvList(all, OWNER));
    expect((listed as unknown[]).length).toBe(keys.length);
    await both((p) => p.kvList({ ...all, reverse: true, limit: 3 }, OWNER));
    await both((p) => p.kvList({ ...prefixRange(encodePrefix(['a'])), limit: 4, reverse: false }, OWNER));
    await both((p) => p.kvList({ ...prefixRange(encodePrefix(['a'])), limit: 1000, reverse: true }, OWNER));
    await both((p) => p.kvList({ ...prefixRange(encodePrefix(['b', 'x'])), limit: 10, reverse: false }, OWNER));

    // Checks: a stale version or a key that exists against null fails and writes nothing.
    const [cur] = (await pg.platform.kvGet({ keys: [k('a', 1)] }, OWNER)) as Array<{ version: string }>;
    await both((p) =>
      p.kvCommit(write([set(k('a', 1), 'stale'), set(k('new'), 1)], [{ key: k('a', 1), version: '0000000000000001' }]), OWNER),
    );
    await both((p) => p.kvCommit(write([set(k('new'), 2)], [{ key: k('a', 1), version: null }]), OWNER));
    await both((p) => p.kvGet({ keys: [k('a', 1), k('new')] }, OWNER));
    await both((p) =>
      p.kvCommit(
        write(
          [set(k('a', 1), 'fresh')],
          [
            { key: k('a', 1), version: cur!.version },
            { key: k('new'), version: null },
          ],
        ),
        OWNER,
      ),
    );
    // Sums: created at 0, after a set in the same write, twice; refused on a string, leaving everything as it was.
    await both((p) =>
      p.kvCommit(
        write([{ t: 'sum', key: k('n'), n: 2 }, set(k('m'), 10), { t: 'sum', key: k('m'), n: 5 }, { t: 'sum', key: k('m'), n: 0.5 }]),
        OWNER,
      ),
    );
    await both((p) =>
      p.kvCommit(
        write([
          { t: 'sum', key: k('n'), n: 1 },
          { t: 'sum', key: k('a'), n: 1 },
        ]),
        OWNER,
      ),
    );
    await both((p) => p.kvGet({ keys: [k('n'), k('m'), k('a')] }, OWNER));
    // Deletes, a set then a delete of one key, and a jobs-only write (no new version).
    await both((p) => p.kvCommit(write([{ t: 'delete', key: k(10) }, set(k('gone'), 1), { t: 'delete', key: k('gone') }]), OWNER));
    await both((p) => p.kvCommit(write([], [], [{ topic: 'jobs.only', payload: '{"x":1}', key: 'kk' }]), OWNER));
    await both((p) => p.kvCommit(write([], [{ key: k(10), version: null }]), OWNER));
    await both((p) => p.kvGet({ keys: [k(10), k('gone')] }, OWNER));
    // Expiry: a key is gone once it expired, in get, list and checks alike; sum on an expired key starts at 0.
    await both((p) => p.kvCommit(write([set(k('t', 1), 'brief', 150), set(k('t', 2), 7, 150)]), OWNER));
    await both((p) => p.kvList({ ...prefixRange(encodePrefix(['t'])), limit: 10, reverse: false }, OWNER));
    await new Promise((r) => setTimeout(r, 400));
    await both((p) => p.kvGet({ keys: [k('t', 1)] }, OWNER));
    await both((p) => p.kvList({ ...prefixRange(encodePrefix(['t'])), limit: 10, reverse: false }, OWNER));
    await both((p) => p.kvCommit(write([{ t: 'sum', key: k('t', 2), n: 1 }], [{ key: k('t', 1), version: null }]), OWNER));
    await both((p) => p.kvGet({ keys: [k('t', 2)] }, OWNER));
    // Refusals with the same codes and messages.
    await both((p) => p.kvGet({ keys: [] }, OWNER));
    await both((p) => p.kvList({ ...all, limit: 0 }, OWNER));
    await both((p) => p.kvCommit(write([set(k('x'), 1)], [], [{ topic: 'fanout', payload: '{}' }]), OWNER));
    await both((p) => p.kvCommit(write([set(new Uint8Array(0), 1)]), OWNER));
    await both((p) => p.kvCommit(write([set(k('x'), 1, -1)]), OWNER));
    await both((p) => p.kvCommit(write([set(k('x'), 1)]), undefined as never));
    // Everything the refusals touched is still as it was.
    await both((p) => p.kvList(all, OWNER));
  });

  it('concurrent check-and-set writers from two hosts: none is lost, and only one creates a key checked as absent', async () => {
    const url = await database();
    const [a, b] = [await host(url, 'h1'), await host(url, 'h2')];
    const counter = k('counter');
    let oks = 0;
    // Each writer reads the counter and writes it + 1 if its version did not move: the final value counts the successes.
    const writer = async (p: PgPlatform) => {
      for (let i = 0; i < 15; i++) {
        const [e] = await p.kvGet({ keys: [counter] }, OWNER);
        const n = e ? (JSON.parse(e.value) as number) : 0;
        const r = await p.kvCommit(write([set(counter, n + 1)], [{ key: counter, version: e?.version ?? null }]), OWNER);
        if (r.ok) oks++;
      }
    };
    await Promise.all([writer(a.platform), writer(b.platform), writer(a.platform), writer(b.platform)]);
    const [final] = await a.platform.kvGet({ keys: [counter] }, OWNER);
    expect(oks).toBeGreaterThan(0);
    expect(JSON.parse(final!.value)).toBe(oks);

    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).platform.kvCommit(write([set(k('once'), i)], [{ key: k('once'), version: null }]), OWNER),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const [once] = await b.platform.kvGet({ keys: [k('once')] }, OWNER);
    expect(once!.version).toBe((results.find((r) => r.ok) as { version: string }).version);
  });
});

describe.skipIf(PG_SKIP)('schedules shared by two hosts', () => {
  beforeAll(() => void requirePg());

  it('leases each firing of a schedule to one host, and records how it ended as SQLite does', async () => {
    const url = await database();
    const [a, b] = [await host(url, 'h1'), await host(url, 'h2')];
    for (let fire = 1; fire <= 10; fire++) {
      const fireAt = 60_000 * fire;
      const granted = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).platform.leaseSchedule({ name: 'g/tick', fireAt, holder: `host${i}` })),
      );
      expect(granted.filter((g) => g.granted)).toHaveLength(1);
    }
    // An older firing (a host whose clock lags) is refused.
    expect(await a.platform.leaseSchedule({ name: 'g/tick', fireAt: 60_000, holder: 'late' })).toEqual({ granted: false });

    const sqlite = openStore();
    cleanups.push(() => sqlite.cleanup());
    const calls = async (p: PgPlatform | typeof sqlite.store.platform) => {
      const out: unknown[] = [];
      out.push(await p.leaseSchedule({ name: 'b/daily', fireAt: 1000, holder: 'x' }));
      out.push(await p.leaseSchedule({ name: 'a/hourly', fireAt: 2000, holder: 'y' }));
      await p.scheduleFinished({ name: 'b/daily', fireAt: 1000, ok: false, error: 'it broke' });
      await p.scheduleFinished({ name: 'a/hourly', fireAt: 2000, ok: true });
      // A late finish of an older firing changes nothing.
      out.push(await p.leaseSchedule({ name: 'a/hourly', fireAt: 3000, holder: 'z' }));
      await p.scheduleFinished({ name: 'a/hourly', fireAt: 2000, ok: false, error: 'late' });
      const runs = (await p.scheduleRuns()).filter((r) => r.name !== 'g/tick');
      out.push(runs.map((r) => ({ ...r, startedAt: typeof r.startedAt, finishedAt: r.finishedAt === null ? null : typeof r.finishedAt })));
      try {
        await p.leaseSchedule({ name: '', fireAt: 1, holder: 'x' });
      } catch (e) {
        out.push({ code: (e as { code: string }).code, message: (e as Error).message });
      }
      return out;
    };
    expect(await calls(b.platform)).toEqual(await calls(sqlite.store.platform));
  });
});

/** Byte keys as hex, so that SQLite's Buffers and PostgreSQL's compare as equal. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, normalize(x)]));
  return v;
}
