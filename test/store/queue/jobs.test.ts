import Database from 'better-sqlite3';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { dbPath, openDatabase } from '../../../src/store/db.js';
import { Batch, Tx } from '../../../src/store/group-commit.js';
import { JobQueue } from '../../../src/store/queue/jobs.js';
import { resolveQueueOptions } from '../../../src/store/options.js';
import { storeUsers, openStore, readAll, type Opened } from '../support.js';
import { sleep, tempDir, waitFor } from '../../helpers/index.js';

let o: Opened | undefined;
let server: Server | undefined;
afterEach(async () => {
  await o?.cleanup();
  o = undefined;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

describe('JobQueue', () => {
  it('counts depth, lag, retries and dead letters per topic, backs off exponentially, prunes done jobs', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    try {
      const q = new JobQueue(db, resolveQueueOptions({ maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 3_000, doneRetentionMs: 0 }));
      const tx = new Tx(new Batch());
      const ids = [q.enqueue(tx, 'fanout', '{}'), q.enqueue(tx, 'fanout', '{}'), q.enqueue(tx, 'webhook', '{}', 'http://x')];
      db.prepare('UPDATE jobs SET created_at = ? WHERE id = ?').run(tx.now - 30_000, ids[0]);
      let s = q.stats(tx.now);
      expect(s.depth).toEqual({ fanout: 2, webhook: 1 });
      expect(s.lagSeconds).toEqual({ fanout: 30, webhook: 0 });

      const job = q.due('fanout', tx.now, 10)[0]!;
      expect(job.id).toBe(ids[0]);
      const r1 = q.fail(tx, job, 'boom');
      expect(r1.dead).toBe(false);
      // First retry: 1 s ± 25 %.
      expect(r1.nextRunAt - tx.now).toBeGreaterThanOrEqual(750);
      expect(r1.nextRunAt - tx.now).toBeLessThanOrEqual(1_250);
      expect(q.due('fanout', tx.now, 10).map((j) => j.id)).toEqual([ids[1]]);
      expect(q.nextDue('fanout', '', tx.now)).toBe(r1.nextRunAt);
      const again = q.due('fanout', r1.nextRunAt, 10)[0]!;
      expect(again.attempts).toBe(1);
      expect(q.fail(tx, again, 'boom').dead).toBe(false);
      expect(q.fail(tx, { ...again, attempts: 2 }, 'boom 3')).toEqual({ dead: true, nextRunAt: 0 });
      // Retries count once their transaction commits.
      expect(q.stats(tx.now).retries).toEqual({ fanout: 0, webhook: 0 });
      q.countRetries(tx.retries!);
      for (const n of [1, 2, 3, 4, 10]) expect(q.backoff(n)).toBeLessThanOrEqual(3_000);
      expect(q.backoff(2)).toBeGreaterThanOrEqual(1_500);

      q.done(ids[1]!, tx.now + 20_000);
      s = q.stats(tx.now);
      expect(s.depth).toEqual({ fanout: 0, webhook: 1 });
      expect(s.retries).toEqual({ fanout: 2, webhook: 0 });
      expect(s.deadLetters).toEqual({ fanout: 1, webhook: 0 });
      // Done jobs past their retention are deleted (the first done() pruned before ids[1] was done).
      q.done(ids[2]!, tx.now + 40_000);
      expect(db.prepare(`SELECT id, state FROM jobs ORDER BY id`).all()).toEqual([
        { id: ids[0], state: 'dead' },
        { id: ids[2], state: 'done' },
      ]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fan-out consumer', () => {
  it('retries a poison job with backoff, dead-letters it with an alert, and keeps fanning out the rest', async () => {
    const alerts: unknown[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    // A job pointing at a group that does not exist, already in the table when the store opens.
    const dir = tempDir();
    const db = openDatabase(dir);
    db.prepare(`INSERT INTO jobs (topic, payload, next_run_at, created_at, updated_at) VALUES ('fanout', ?, 0, 0, 0)`).run(
      JSON.stringify({ m: 1, g: 'g_missing', v: 1, x: 'u' }),
    );
    db.close();
    o = openStore({ dataDir: dir, webhooks: [{ url, events: ['alert'] }], queue: { maxAttempts: 3, backoffBaseMs: 30, backoffMaxMs: 60 } });
    const [a, b] = await storeUsers(o.store, 2);
    const g = await o.store.createGroup({ owner: a!, name: 'ok', members: [b!] });
    await o.store.sendMessage({ from: a!, groupId: g.groupId, type: 'text', content: 'fine', clientMsgId: 'f' });
    await waitFor(() => o!.store.stats().queueDeadLetters.fanout === 1, 5_000, { what: 'the dead letter' });
    await o.store.whenIdle();
    expect((await readAll(o.store, b!)).map((m) => m.type)).toEqual(['system', 'text']);
    const s = o.store.stats();
    expect([s.queueDepth.fanout, s.queueRetries.fanout, s.queueDeadLetters.fanout]).toEqual([0, 2, 1]);
    await waitFor(() => alerts.length === 1, 3_000, { what: 'the alert' });
    expect(alerts[0]).toMatchObject({
      event: 'alert',
      data: { kind: 'job_dead', topic: 'fanout', jobId: 1, error: 'group g_missing has no membership version 1' },
    });
    const check = new Database(dbPath(dir), { readonly: true });
    expect(check.prepare('SELECT state, attempts FROM jobs WHERE id = 1').get()).toEqual({ state: 'dead', attempts: 3 });
    check.close();
  });

  it('leaves a retry timer behind after every turn, even one that fired before its job was due', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    // A job in backoff for 300 ms more.
    db.prepare(`INSERT INTO jobs (topic, payload, attempts, next_run_at, created_at, updated_at) VALUES ('fanout', ?, 1, ?, 0, 0)`).run(
      JSON.stringify({ m: 1, g: 'g_missing', v: 1, x: 'u' }),
      Date.now() + 300,
    );
    db.close();
    o = openStore({ dataDir: dir, queue: { maxAttempts: 2, backoffBaseMs: 30, backoffMaxMs: 60 } });
    // As if its timer had fired early and been used up (after the turn at open): only a later turn can set it again.
    const { timer } = (o.store as unknown as { fanout: { timer: { at: number; cancel(): void } } }).fanout;
    await waitFor(() => timer.at < Infinity, 2_000, { what: 'the turn at open to set the retry timer' });
    timer.cancel();
    const [a, b] = await storeUsers(o.store, 2);
    await o.store.createGroup({ owner: a!, name: 'g', members: [b!] });
    await waitFor(() => o!.store.stats().queueDeadLetters.fanout === 1, 3_000, { what: 'the retried job to die' });
  });

  it('runs no transaction while idle', async () => {
    o = openStore();
    await storeUsers(o.store, 1);
    const before = o.store.stats().commits;
    // The point of the test: a window of idleness, in which nothing may commit.
    await sleep(200);
    expect(o.store.stats().commits).toBe(before);
  });
});
