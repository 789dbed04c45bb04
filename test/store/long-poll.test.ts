import { afterEach, describe, expect, it } from 'vitest';
import { storeUsers, ENGINES, openEngine, skipEngine, type Engine, type OpenedEngine } from './support.js';
import { pgSkipNote } from '../helpers/postgres.js';

pgSkipNote('long-poll.test');
import { waitFor } from '../helpers/index.js';

let o: OpenedEngine;
afterEach(async () => {
  await o?.cleanup();
});

const since = (t: number) => Date.now() - t;

describe.each(ENGINES)('%s', (engine: Engine) => {
  const open = (opts = {}) => openEngine(engine, opts);
  describe.skipIf(skipEngine(engine))('engine', () => {
    describe('long-poll sync', () => {
      it('is answered as soon as a 1:1 entry commits', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        const t0 = Date.now();
        const held = o.store.sync({ uid: b!, syncKey: 0, limit: 10, timeoutMs: 10_000 }, { requestId: 'r1' });
        await waitFor(() => o.store.stats().syncWaiters === 1, 2_000, { what: 'the sync to be held' });
        const sent = await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'wake', clientMsgId: 'w' });
        const r = await held;
        expect(since(t0)).toBeLessThan(2_000);
        expect(r.messages.map((m) => [m.seq, m.msgId, m.content])).toEqual([[1, sent.msgId, 'wake']]);
        expect(r.syncKey).toBe(1);
        expect(o.store.stats().syncWaiters).toBe(0);
      });

      it('is answered by a group fan-out entry and by a system entry', async () => {
        o = await open();
        const [a, b, c] = await storeUsers(o.store, 3);
        const heldC = o.store.sync({ uid: c!, syncKey: 0, limit: 10, timeoutMs: 10_000 }, { requestId: 'rc' });
        // c learns of the group through the fan-out of the group_created entry.
        const g = await o.store.createGroup({ owner: a!, name: 'team', members: [b!, c!] });
        const first = await heldC;
        expect(first.messages.map((m) => [m.type, m.event?.kind])).toEqual([['system', 'group_created']]);
        const heldB = o.store.sync({ uid: b!, syncKey: 1, limit: 10, timeoutMs: 10_000 }, { requestId: 'rb' });
        await o.store.sendMessage({ from: a!, groupId: g.groupId, type: 'text', content: 'hello all', clientMsgId: 'g1' });
        const r = await heldB;
        expect(r.messages.map((m) => [m.seq, m.groupId, m.content])).toEqual([[2, g.groupId, 'hello all']]);
      });

      it('answers empty when the time runs out', async () => {
        o = await open();
        const [a] = await storeUsers(o.store, 1);
        const t0 = Date.now();
        const r = await o.store.sync({ uid: a!, syncKey: 0, limit: 10, timeoutMs: 150 });
        expect(r).toEqual({ messages: [], syncKey: 0, continueFlag: false });
        expect(since(t0)).toBeGreaterThanOrEqual(140);
        expect(since(t0)).toBeLessThan(1_500);
        expect(o.store.stats().syncWaiters).toBe(0);
      });

      it('ends at once (empty) when its request is cancelled', async () => {
        o = await open();
        const [a] = await storeUsers(o.store, 1);
        const t0 = Date.now();
        // Held at the end of an empty inbox (syncKey 0: a key past the end is SYNC_KEY_AHEAD, never held).
        const held = o.store.sync({ uid: a!, syncKey: 0, limit: 10, timeoutMs: 20_000 }, { requestId: 'gone' });
        // (PostgreSQL reads the inbox before it holds: the sync is held a moment later.)
        await waitFor(() => o.store.stats().syncWaiters === 1, 2_000, { what: 'the sync to be held' });
        expect(o.store.cancel('gone')).toBe(true);
        expect(await held).toEqual({ messages: [], syncKey: 0, continueFlag: false });
        expect(since(t0)).toBeLessThan(1_000);
        expect(o.store.cancel('gone')).toBe(false);
      });

      it('does not answer a held sync for an entry of another user, nor for an entry it already has', async () => {
        o = await open();
        const [a, b, c] = await storeUsers(o.store, 3);
        await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'old', clientMsgId: 'o' });
        let done = false;
        const held = o.store.sync({ uid: b!, syncKey: 1, limit: 10, timeoutMs: 5_000 }, { requestId: 'rb' }).then((r) => {
          done = true;
          return r;
        });
        const heldC = o.store.sync({ uid: c!, syncKey: 0, limit: 10, timeoutMs: 5_000 }, { requestId: 'rc' });
        await o.store.sendMessage({ from: a!, to: c!, type: 'text', content: 'not for b', clientMsgId: 'n' });
        // The witness: c's sync, held alongside, is woken by that entry; b's is not (a turn later, still not).
        expect((await heldC).messages.map((m) => m.content)).toEqual(['not for b']);
        await new Promise((r) => setImmediate(r));
        expect(done).toBe(false);
        await o.store.sendMessage({ from: c!, to: b!, type: 'text', content: 'for b', clientMsgId: 'f' });
        expect((await held).messages.map((m) => m.content)).toEqual(['for b']);
      });

      it('holds ten thousand idle syncs cheaply and releases them all', async () => {
        o = await open();
        const users = await storeUsers(o.store, 100);
        // PostgreSQL reads each inbox once before holding (one query each, through its pool): 2 000 of them here.
        const n = engine === 'sqlite' ? 10_000 : 2_000;
        const perUser = n / 100;
        const heapBefore = process.memoryUsage().heapUsed;
        const t0 = performance.now();
        const held = [];
        for (let i = 0; i < n; i++) {
          held.push(o.store.sync({ uid: users[i % 100]!, syncKey: 0, limit: 100, timeoutMs: 30_000 }, { requestId: `r${i}` }));
        }
        // A read queued behind every first read: when it is answered, they all were.
        if (engine === 'postgres') await o.store.sync({ uid: users[0]!, syncKey: 0, limit: 1, timeoutMs: 0 });
        const holdMs = performance.now() - t0;
        expect(o.store.stats().syncWaiters).toBe(n);
        const perWaiter = (process.memoryUsage().heapUsed - heapBefore) / n;
        // Each read is one indexed range query; holding 10k takes a fraction of a second and about 1 KiB each
        // (bounds loose enough for a loaded CI machine).
        expect(holdMs).toBeLessThan(5_000);
        // (PostgreSQL's count also holds what its first reads left for the collector: rows, buffers.)
        expect(perWaiter).toBeLessThan(engine === 'sqlite' ? 4_096 : 16_384);
        // One message wakes exactly the waiters of its recipient and those of its sender (other devices).
        await o.store.sendMessage({ from: users[1]!, to: users[0]!, type: 'text', content: 'x', clientMsgId: 'x' });
        if (engine === 'postgres')
          await waitFor(() => o.store.stats().syncWaiters <= n - 2 * perUser, 5_000, { what: "the two users' waiters to be answered" });
        expect(o.store.stats().syncWaiters).toBe(n - 2 * perUser);
        expect(o.store.releaseWaiters()).toBe(n - 2 * perUser);
        const answers = await Promise.all(held);
        expect(answers.filter((r) => r.messages.length === 1).length).toBe(2 * perUser);
        expect(answers.filter((r) => r.messages.length === 0).length).toBe(n - 2 * perUser);
        // Once released (the host is stopping), syncs answer at once.
        const t1 = Date.now();
        await o.store.sync({ uid: users[5]!, syncKey: 0, limit: 1, timeoutMs: 5_000 });
        expect(since(t1)).toBeLessThan(500);
      });

      it('answers held syncs (empty) when the store closes', async () => {
        o = await open();
        const [a] = await storeUsers(o.store, 1);
        const held = o.store.sync({ uid: a!, syncKey: 0, limit: 10, timeoutMs: 20_000 });
        await o.store.close();
        expect(await held).toEqual({ messages: [], syncKey: 0, continueFlag: false });
      });
    });
  });
});
