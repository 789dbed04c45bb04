/**
 * The queue on PostgreSQL shared by two hosts (SPEC §8, §9): consumer topics
 * hand each job to one host once and run a keyed topic in order; a dead
 * host's job is taken over when its lease runs out, a running one's lease is
 * renewed, a stopping host gives its jobs back; retries end in a dead letter
 * that retryDead revives; webhook events are delivered once by two hosts.
 * Each test gets a fresh database. Needs PostgreSQL (helpers/postgres.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { resolveQueueOptions, type WebhookConfig } from '../../src/store/options.js';
import type { QueueMessage } from '../../src/store/platform-api.js';
import type { Subscriber } from '../../src/store/queue/consumers.js';
import { signBody } from '../../src/store/queue/webhooks.js';
import { PgDb } from '../../src/store/pg/db.js';
import type { PgPlatform } from '../../src/store/pg/platform.js';
import { PgWebhooks } from '../../src/store/pg/webhooks.js';
import { waitFor } from '../helpers/index.js';
import { PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { cleanups, database, FAST, host, OWNER, subscriber, write, type Job } from './pg-support.js';

pgSkipNote('pg-queue.test');

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
      const got: Job[] = [];
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
    const gotDying: Job[] = [];
    dying.platform.subscribe(subscriber('lease', 1, gotDying));
    await enqueue(dying.platform, [{ topic: 'lease', payload: '{"n":1}' }]);
    await waitFor(() => gotDying.length === 1, 5_000, { what: 'the dying host took the job' });
    const claimedAt = Date.now();
    // kill -9: its connections go and nothing more is written or renewed.
    await dying.db.close();
    const gotSurvivor: Job[] = [];
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
    const gotStopping: Job[] = [];
    stopping.platform.subscribe(subscriber('handback', 1, gotStopping));
    await enqueue(stopping.platform, [{ topic: 'handback', payload: '{"n":2}' }]);
    await waitFor(() => gotStopping.length === 1, 5_000, { what: 'the stopping host took the job' });
    const gotOther: Job[] = [];
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
    const gotA: Job[] = [];
    const gotB: Job[] = [];
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

describe.skipIf(PG_SKIP)('webhooks shared by two hosts', () => {
  beforeAll(() => void requirePg());

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
