/**
 * The CGI platform's store side on PostgreSQL (SPEC §8, §9): ctx.kv answers
 * what the SQLite Platform answers (the same calls run on both and are
 * compared), atomic checks hold under concurrent writers, consumer topics
 * and webhooks are shared by two PgPlatform/PgWebhooks "hosts" on one
 * database (each job once, a keyed topic in order, a dead host's job taken
 * over when its lease runs out), retries end in a dead letter that
 * retryDead revives, and a schedule's firing is leased to one host only.
 * Each test gets a fresh database. Needs PostgreSQL (helpers/postgres.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { resolveQueueOptions, type QueueOptions, type WebhookConfig } from '../../src/store/options.js';
import type { AtomicWrite, KvMutation, PortOwner, QueueMessage } from '../../src/store/platform-api.js';
import type { Subscriber, ToConsumer } from '../../src/store/queue/consumers.js';
import { signBody } from '../../src/store/queue/webhooks.js';
import { PgDb } from '../../src/store/pg/db.js';
import { PgPlatform } from '../../src/store/pg/platform.js';
import { PgWebhooks } from '../../src/store/pg/webhooks.js';
import { encodeKey, encodePrefix, KEY_SPACE_END, prefixRange } from '../../src/worker/kv-keys.js';
import { waitFor } from '../helpers/index.js';
import { freshDatabase, PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { openStore, type Opened } from '../store/support.js';

pgSkipNote('pg-platform.test');

const OWNER: PortOwner = { group: 'g1', unit: 'g1/kv' };
const FAST: QueueOptions = { backoffBaseMs: 30, backoffMaxMs: 60, maxAttempts: 3, webhookTimeoutMs: 1_000 };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function database(): Promise<string> {
  const db = await freshDatabase('cgihost_platform');
  cleanups.push(() => db.drop());
  return db.url;
}

interface PgHost {
  db: PgDb;
  platform: PgPlatform;
}

async function host(url: string, hostId: string, o: { leaseMs?: number; pollMs?: number; queue?: QueueOptions } = {}): Promise<PgHost> {
  const db = await PgDb.open({ url, max: 4 });
  const platform = await PgPlatform.open(
    db,
    resolveQueueOptions(o.queue ?? FAST),
    { hostId, leaseMs: o.leaseMs, pollMs: o.pollMs ?? 50 },
    silentLogger,
  );
  // Registered first, run last: the database closes after the platform stopped.
  cleanups.push(() => db.close());
  cleanups.push(() => platform.stop());
  return { db, platform };
}

const k = (...parts: Array<string | number>) => encodeKey(parts);
const set = (key: Uint8Array, value: unknown, expireInMs?: number): KvMutation => ({
  t: 'set',
  key,
  value: JSON.stringify(value),
  ...(expireInMs === undefined ? {} : { expireInMs }),
});
const write = (mutations: KvMutation[], checks: AtomicWrite['checks'] = [], enqueues: QueueMessage[] = []): AtomicWrite => ({
  checks,
  mutations,
  enqueues,
});

/** A consumer worker as the store thread sees one: records the jobs it is sent. */
function subscriber(topic: string, concurrency: number, got: Array<Extract<ToConsumer, { t: 'job' }>>, unit = 'c'): Subscriber {
  return {
    topic,
    concurrency,
    maxAttempts: 3,
    timeoutMs: 60_000,
    unit,
    running: 0,
    draining: false,
    send: (m) => {
      if (m.t === 'job') got.push(m);
    },
  };
}

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

describe.skipIf(PG_SKIP)('consumer topics shared by two hosts', () => {
  beforeAll(() => void requirePg());

  const enqueue = (p: PgPlatform, msgs: QueueMessage[]) => p.kvCommit(write([], [], msgs), OWNER);

  it('hands each job to one host once, and runs a keyed topic in order, one job of a key at a time', async () => {
    const url = await database();
    const hosts = [await host(url, 'h1'), await host(url, 'h2')];
    const runs: Array<{ host: number; id: number; payload: string; key?: string }> = [];
    const running = new Map<string, number>();
    let overlap = 0;
    for (const [i, h] of hosts.entries()) {
      const got: Array<Extract<ToConsumer, { t: 'job' }>> = [];
      const sub = subscriber('work', 3, got);
      sub.send = (m) => {
        if (m.t !== 'job') return;
        runs.push({ host: i, id: m.id, payload: m.payload, key: m.key });
        const key = m.key ?? '';
        if (key) {
          if (running.get(key)) overlap++;
          running.set(key, (running.get(key) ?? 0) + 1);
        }
        setTimeout(
          () => {
            if (key) running.set(key, running.get(key)! - 1);
            h.platform.dispatch.answered(sub, m.id, m.attempt, null);
          },
          5 + Math.random() * 15,
        );
      };
      h.platform.subscribe(sub);
    }
    const msgs: QueueMessage[] = [];
    for (let n = 0; n < 20; n++) {
      msgs.push({ topic: 'work', payload: JSON.stringify({ n }) });
      msgs.push({ topic: 'work', payload: JSON.stringify({ key: 'a', n }), key: 'a' });
      msgs.push({ topic: 'work', payload: JSON.stringify({ key: 'b', n }), key: 'b' });
    }
    // Half from each host: each wakes its own consumers at once, the other hears of them by polling.
    await enqueue(hosts[0]!.platform, msgs.slice(0, 30));
    await enqueue(hosts[1]!.platform, msgs.slice(30));
    await waitFor(() => runs.length >= msgs.length, 15_000, { what: 'every job run' });
    await waitFor(async () => (await hosts[0]!.db.query(`SELECT id FROM jobs WHERE topic = 'work'`)).length === 0, 5_000, {
      what: 'the done jobs deleted',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(runs).toHaveLength(msgs.length);
    expect(new Set(runs.map((r) => r.id)).size).toBe(msgs.length);
    for (const key of ['a', 'b']) {
      const order = runs.filter((r) => r.key === key).map((r) => (JSON.parse(r.payload) as { n: number }).n);
      expect(order).toEqual(Array.from({ length: 20 }, (_, n) => n));
    }
    expect(overlap).toBe(0);
    // Both hosts took part.
    expect(runs.some((r) => r.host === 0)).toBe(true);
    expect(runs.some((r) => r.host === 1)).toBe(true);
    const counts = [await hosts[0]!.platform.queueTopics(), await hosts[1]!.platform.queueTopics()];
    expect(counts[0]!.work!.done + counts[1]!.work!.done).toBe(msgs.length);
  });

  it("a dead host's job goes to the other host once its lease runs out; a stopping host gives its jobs back at once", async () => {
    const url = await database();
    const LEASE = 600;
    const dying = await host(url, 'dying', { leaseMs: LEASE });
    const survivor = await host(url, 'survivor', { leaseMs: LEASE });
    const gotDying: Array<Extract<ToConsumer, { t: 'job' }>> = [];
    dying.platform.subscribe(subscriber('lease', 1, gotDying));
    await enqueue(dying.platform, [{ topic: 'lease', payload: '{"n":1}' }]);
    await waitFor(() => gotDying.length === 1, 5_000, { what: 'the dying host took the job' });
    const claimedAt = Date.now();
    // kill -9: its connections go and nothing more is written or renewed.
    await dying.db.close();
    const gotSurvivor: Array<Extract<ToConsumer, { t: 'job' }>> = [];
    const sub = subscriber('lease', 1, gotSurvivor);
    survivor.platform.subscribe(sub);
    await waitFor(() => gotSurvivor.length === 1, 5_000, { what: 'the survivor took the job over' });
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(LEASE - 100);
    expect(gotSurvivor[0]!.id).toBe(gotDying[0]!.id);
    expect(gotSurvivor[0]!.attempt).toBe(1);
    survivor.platform.dispatch.answered(sub, gotSurvivor[0]!.id, 1, null);
    await waitFor(async () => (await survivor.db.query(`SELECT id FROM jobs`)).length === 0, 5_000, { what: 'the job deleted' });

    // A host that stops while a job runs gives it back: the other takes it well before the lease would end.
    const stopping = await host(url, 'stopping', { leaseMs: 30_000 });
    const gotStopping: Array<Extract<ToConsumer, { t: 'job' }>> = [];
    stopping.platform.subscribe(subscriber('handback', 1, gotStopping));
    await enqueue(stopping.platform, [{ topic: 'handback', payload: '{"n":2}' }]);
    await waitFor(() => gotStopping.length === 1, 5_000, { what: 'the stopping host took the job' });
    const gotOther: Array<Extract<ToConsumer, { t: 'job' }>> = [];
    survivor.platform.subscribe(subscriber('handback', 1, gotOther));
    await new Promise((r) => setTimeout(r, 300));
    expect(gotOther).toHaveLength(0);
    const stoppedAt = Date.now();
    await stopping.platform.stop();
    await waitFor(() => gotOther.length === 1, 5_000, { what: 'the job handed over' });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(gotOther[0]!.id).toBe(gotStopping[0]!.id);
  });

  it("a running job stays its host's past the lease: the lease is renewed while it runs", async () => {
    const url = await database();
    const LEASE = 300;
    const a = await host(url, 'h1', { leaseMs: LEASE });
    const b = await host(url, 'h2', { leaseMs: LEASE });
    const gotA: Array<Extract<ToConsumer, { t: 'job' }>> = [];
    const gotB: Array<Extract<ToConsumer, { t: 'job' }>> = [];
    const subA = subscriber('long', 1, gotA);
    a.platform.subscribe(subA);
    await enqueue(a.platform, [{ topic: 'long', payload: '{}' }]);
    await waitFor(() => gotA.length === 1, 5_000, { what: 'host 1 took the job' });
    b.platform.subscribe(subscriber('long', 1, gotB));
    // Several leases long (a time-based test: the lease is what it is about).
    await new Promise((r) => setTimeout(r, LEASE * 4));
    expect(gotB).toHaveLength(0);
    a.platform.dispatch.answered(subA, gotA[0]!.id, 1, null);
    await waitFor(async () => (await a.db.query(`SELECT id FROM jobs`)).length === 0, 5_000, { what: 'the job deleted' });
    expect(gotB).toHaveLength(0);
  });

  it('retries with backoff, dead-letters after maxAttempts, and retryDead sends the job out again', async () => {
    const url = await database();
    const a = await host(url, 'h1');
    const b = await host(url, 'h2');
    const tries: Array<{ host: string; attempt: number }> = [];
    const subs: Subscriber[] = [];
    let fail = true;
    for (const [name, h] of [
      ['h1', a],
      ['h2', b],
    ] as const) {
      const sub = subscriber('flaky', 2, []);
      sub.send = (m) => {
        if (m.t !== 'job') return;
        tries.push({ host: name, attempt: m.attempt });
        setImmediate(() => h.platform.dispatch.answered(sub, m.id, m.attempt, fail ? `boom ${m.attempt}` : null));
      };
      subs.push(sub);
      h.platform.subscribe(sub);
    }
    const r = await a.platform.kvCommit(write([], [], [{ topic: 'flaky', payload: '{"p":1}', key: 'k1' }]), OWNER);
    const jobId = (r as { jobIds: string[] }).jobIds[0]!;
    await waitFor(async () => (await b.platform.deadLetters({})).deadLetters.length === 1, 10_000, { what: 'the dead letter' });
    expect(tries.map((t) => t.attempt)).toEqual([1, 2, 3]);
    const { deadLetters } = await b.platform.deadLetters({ topic: 'flaky' });
    expect(deadLetters[0]).toMatchObject({ jobId, topic: 'flaky', key: 'k1', payload: '{"p":1}', attempts: 3, error: 'boom 3' });
    expect((await a.platform.deadLetters({ topic: 'other' })).deadLetters).toEqual([]);
    const retries = [...a.platform.retries().values(), ...b.platform.retries().values()].reduce((x, y) => x + y, 0);
    expect(retries).toBe(2);

    fail = false;
    await expect(b.platform.retryDead({ jobId })).resolves.toEqual({ jobId, topic: 'flaky' });
    await expect(a.platform.retryDead({ jobId })).rejects.toMatchObject({ code: 'NO_SUCH_JOB' });
    await expect(a.platform.retryDead({ jobId: 'nonsense' })).rejects.toMatchObject({ code: 'NO_SUCH_JOB' });
    await waitFor(async () => (await a.db.query(`SELECT id FROM jobs`)).length === 0, 5_000, { what: 'the revived job done' });
    expect(tries.at(-1)!.attempt).toBe(1);
    expect(tries).toHaveLength(4);
    // The host's own topics' dead letters are not for the admin to revive.
    const [dead] = await a.db.query<{ id: number }>(
      `INSERT INTO jobs (topic, key, payload, state, attempts, next_run_at, created_at, updated_at)
       VALUES ('fanout', '', '{}', 'dead', 8, 0, 0, 0) RETURNING id`,
    );
    await expect(a.platform.retryDead({ jobId: 'j' + dead!.id.toString(36) })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe.skipIf(PG_SKIP)('schedules and webhooks shared by two hosts', () => {
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

  it('delivers each webhook event once with two hosts delivering, retrying failed tries, signed', async () => {
    const url = await database();
    const tries = new Map<string, number>();
    const delivered = new Map<string, number>();
    let badSignatures = 0;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = String(req.headers['x-cgihost-delivery']);
        if (req.headers['x-cgihost-signature'] !== signBody(body, 'sekret')) badSignatures++;
        const n = (tries.get(id) ?? 0) + 1;
        tries.set(id, n);
        // Every delivery's first try fails: it must be retried, by either host, and still succeed once.
        res.statusCode = n === 1 ? 503 : 204;
        if (n > 1) delivered.set(id, (delivered.get(id) ?? 0) + 1);
        setTimeout(() => res.end(), Math.random() * 10);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
    const hook: WebhookConfig = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      events: ['message.sent'],
      secret: 'sekret',
    };
    const hooks: Array<{ db: PgDb; w: PgWebhooks }> = [];
    for (const id of ['h1', 'h2']) {
      const db = await PgDb.open({ url, max: 4 });
      cleanups.push(() => db.close());
      const w = await PgWebhooks.open(db, [hook], resolveQueueOptions(FAST), { hostId: id, leaseMs: 10_000, pollMs: 50 }, silentLogger);
      cleanups.push(() => w.stop());
      hooks.push({ db, w });
    }
    expect(hooks[0]!.w.wants('message.sent')).toBe(true);
    expect(hooks[0]!.w.wants('group.created')).toBe(false);
    const EVENTS = 40;
    for (let i = 0; i < EVENTS; i++) {
      const { db, w } = hooks[i % 2]!;
      await db.tx(async (tx) => {
        await w.emit(tx, 'message.sent', { i });
        await w.emit(tx, 'group.created', { i });
      });
    }
    await waitFor(() => delivered.size === EVENTS, 15_000, { what: 'every event delivered' });
    await waitFor(async () => (await hooks[0]!.db.query(`SELECT id FROM jobs WHERE state <> 'done'`)).length === 0, 5_000, {
      what: 'every job done',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    expect(badSignatures).toBe(0);
    const jobs = await hooks[0]!.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM jobs WHERE topic = 'webhook' AND state = 'done'`);
    expect(jobs[0]!.n).toBe(EVENTS);
    expect(hooks[0]!.w.retries + hooks[1]!.w.retries).toBe(EVENTS);
  });
});

/** Byte keys as hex, so that SQLite's Buffers and PostgreSQL's compare as equal. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, normalize(x)]));
  return v;
}
