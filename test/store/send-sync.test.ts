import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { dbPath } from '../../src/store/db.js';
import pg from 'pg';
import { pgSkipNote } from '../helpers/postgres.js';
import { ENGINES, openEngine, skipEngine, storeUsers, readAll, type Engine, type OpenedEngine } from './support.js';

pgSkipNote('send-sync.test');

let o: OpenedEngine;
afterEach(async () => {
  await o?.cleanup();
});

describe.each(ENGINES)('%s', (engine: Engine) => {
  const open = (opts = {}) => openEngine(engine, opts);
  describe.skipIf(skipEngine(engine))('engine', () => {
    describe('sendMessage 1:1', () => {
      it('writes one message, an entry for the recipient and one for the sender', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        const r = await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'hi 👋', clientMsgId: 'c-1' });
        expect(r).toEqual({ msgId: expect.stringMatching(/^m[0-9a-z]+$/), seq: 1, createdAt: expect.any(Number) });
        const forB = await o.store.sync({ uid: b!, syncKey: 0, limit: 100, timeoutMs: 0 });
        expect(forB).toEqual({
          messages: [{ seq: 1, msgId: r.msgId, from: a, to: b, type: 'text', content: 'hi 👋', createdAt: r.createdAt }],
          syncKey: 1,
          continueFlag: false,
        });
        // The sender's own entry carries the clientMsgId; the recipient's does not.
        const forA = await o.store.sync({ uid: a!, syncKey: 0, limit: 100, timeoutMs: 0 });
        expect(forA.messages).toEqual([
          { seq: 1, msgId: r.msgId, from: a, to: b, type: 'text', content: 'hi 👋', clientMsgId: 'c-1', createdAt: r.createdAt },
        ]);
        expect(Object.keys(forA.messages[0]!)).toEqual(['seq', 'msgId', 'from', 'to', 'type', 'content', 'clientMsgId', 'createdAt']);
      });

      it('is durably committed when it resolves (another connection sees it)', async () => {
        o = await open({ synchronous: 'FULL' });
        const [a, b] = await storeUsers(o.store, 2);
        const r = await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'x', clientMsgId: 'c' });
        if (engine === 'sqlite') {
          const other = new Database(dbPath(o.dir), { readonly: true });
          try {
            expect(other.prepare('SELECT seq FROM inbox WHERE uid = ?').pluck().all(b)).toEqual([1]);
            expect(other.prepare('SELECT sender_seq FROM messages').pluck().all()).toEqual([r.seq]);
          } finally {
            other.close();
          }
          return;
        }
        const other = new pg.Client({ connectionString: o.url });
        await other.connect();
        try {
          expect((await other.query('SELECT seq::int FROM inbox WHERE uid = $1', [b])).rows.map((x) => x.seq)).toEqual([1]);
          expect((await other.query('SELECT sender_seq::int AS s FROM messages')).rows.map((x) => x.s)).toEqual([r.seq]);
        } finally {
          await other.end();
        }
      });

      it('writes one entry for a message to oneself', async () => {
        o = await open();
        const [a] = await storeUsers(o.store, 1);
        const r = await o.store.sendMessage({ from: a!, to: a!, type: 'text', content: 'note', clientMsgId: 'n1' });
        const all = await readAll(o.store, a!);
        expect(all).toEqual([
          { seq: 1, msgId: r.msgId, from: a, to: a, type: 'text', content: 'note', clientMsgId: 'n1', createdAt: r.createdAt },
        ]);
      });

      it('refuses an unknown recipient and a bad payload, writing nothing', async () => {
        o = await open();
        const [a] = await storeUsers(o.store, 1);
        await expect(
          o.store.sendMessage({ from: a!, to: 'u_nobody', type: 'text', content: 'x', clientMsgId: 'c1' }),
        ).rejects.toMatchObject({
          code: 'NO_SUCH_USER',
        });
        const bad = [
          { to: a, type: 'text', content: '', clientMsgId: 'c2' },
          { to: a, type: 'text', content: 'x'.repeat(4097), clientMsgId: 'c2' },
          { to: a, groupId: 'g1', type: 'text', content: 'x', clientMsgId: 'c2' },
          { type: 'text', content: 'x', clientMsgId: 'c2' },
          { to: a, type: 'text', content: 'x', clientMsgId: 'has space' },
          { to: a, type: 'voice', mediaId: 'a'.repeat(64), clientMsgId: 'c2' },
          { to: a, type: 'sticker', content: 'x', clientMsgId: 'c2' },
        ];
        for (const args of bad) {
          await expect(o.store.sendMessage({ from: a!, ...args } as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        }
        // 4096 code points of astral characters (8192 UTF-16 units) are fine.
        await o.store.sendMessage({ from: a!, to: a!, type: 'text', content: '😀'.repeat(4096), clientMsgId: 'long' });
        expect((await readAll(o.store, a!)).map((m) => m.seq)).toEqual([1]);
      });

      it('answers an idempotent retry with the first answer and writes nothing; a changed payload conflicts', async () => {
        o = await open();
        const [a, b, c] = await storeUsers(o.store, 3);
        const first = await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'once', clientMsgId: 'same' });
        const again = await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'once', clientMsgId: 'same' });
        expect(again).toEqual(first);
        await expect(o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'twice', clientMsgId: 'same' })).rejects.toMatchObject({
          code: 'IDEMPOTENCY_CONFLICT',
        });
        await expect(o.store.sendMessage({ from: a!, to: c!, type: 'text', content: 'once', clientMsgId: 'same' })).rejects.toMatchObject({
          code: 'IDEMPOTENCY_CONFLICT',
        });
        // Another sender may use the same clientMsgId.
        const other = await o.store.sendMessage({ from: c!, to: b!, type: 'text', content: 'once', clientMsgId: 'same' });
        expect(other.msgId).not.toBe(first.msgId);
        expect((await readAll(o.store, b!)).map((m) => m.msgId)).toEqual([first.msgId, other.msgId]);
        expect((await readAll(o.store, a!)).length).toBe(1);
      });

      it('dedupes a retry that lands in the same batch as the original', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        const args = { from: a!, to: b!, type: 'text' as const, content: 'dup', clientMsgId: 'x' };
        const [r1, r2] = await Promise.all([o.store.sendMessage(args), o.store.sendMessage(args)]);
        expect(r2).toEqual(r1);
        expect((await readAll(o.store, b!)).length).toBe(1);
      });

      it('keeps every inbox dense and every message once under many concurrent sends', async () => {
        o = await open();
        const users = await storeUsers(o.store, 20);
        const sends = [];
        for (let i = 0; i < 2_000; i++) {
          const from = users[i % 20]!;
          const to = users[(i * 7 + 3) % 20]!;
          sends.push(o.store.sendMessage({ from, to, type: 'text', content: `m${i}`, clientMsgId: `k${i}` }));
        }
        const results = await Promise.all(sends);
        expect(new Set(results.map((r) => r.msgId)).size).toBe(2_000);
        let total = 0;
        for (const u of users) {
          const all = await readAll(o.store, u);
          expect(all.map((m) => m.seq)).toEqual(all.map((_, i) => i + 1));
          expect(new Set(all.map((m) => m.msgId)).size).toBe(all.length);
          total += all.length;
        }
        const selfSends = Array.from({ length: 2_000 }, (_, i) => i).filter((i) => i % 20 === (i * 7 + 3) % 20).length;
        expect(total).toBe(2 * 2_000 - selfSends);
        // Group commit (SQLite): far fewer transactions than writes.
        if (engine === 'sqlite') expect(o.store.stats().commits).toBeLessThan(50);
      });

      it('keeps seqs dense when an operation in the middle of a batch fails', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        const r = await Promise.allSettled([
          o.store.sendMessage({ from: a!, to: b!, type: 'text', content: '1', clientMsgId: 'k1' }),
          o.store.sendMessage({ from: a!, to: b!, type: 'image', mediaId: 'f'.repeat(64), clientMsgId: 'k2' }),
          o.store.sendMessage({ from: a!, to: b!, type: 'text', content: '3', clientMsgId: 'k3' }),
        ]);
        expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((r[1] as PromiseRejectedResult).reason.code).toBe('NO_SUCH_MEDIA');
        const entries = (await readAll(o.store, b!)).map((m) => [m.seq, m.content]);
        // SQLite runs the batch in order; PostgreSQL runs the three as concurrent transactions, in any order.
        if (engine === 'postgres') entries.sort((x, y) => String(x[1]).localeCompare(String(y[1])) || 0);
        expect(entries.map((e) => e[1])).toEqual(['1', '3']);
        expect(entries.map((e) => e[0]).sort()).toEqual([1, 2]);
      });
    });

    describe('sync', () => {
      it('pages with limit, syncKey and continueFlag', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        for (let i = 1; i <= 5; i++) await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: `${i}`, clientMsgId: `c${i}` });
        const p1 = await o.store.sync({ uid: b!, syncKey: 0, limit: 2, timeoutMs: 0 });
        expect([p1.messages.map((m) => m.seq), p1.syncKey, p1.continueFlag]).toEqual([[1, 2], 2, true]);
        const p2 = await o.store.sync({ uid: b!, syncKey: 2, limit: 3, timeoutMs: 0 });
        expect([p2.messages.map((m) => m.content), p2.syncKey, p2.continueFlag]).toEqual([['3', '4', '5'], 5, false]);
        const p3 = await o.store.sync({ uid: b!, syncKey: 5, limit: 3, timeoutMs: 0 });
        expect(p3).toEqual({ messages: [], syncKey: 5, continueFlag: false });
        // A user reads only their own inbox: another uid sees its own (empty) one.
        const none = await o.store.sync({ uid: 'u_other', syncKey: 0, limit: 10, timeoutMs: 0 });
        expect(none).toEqual({ messages: [], syncKey: 0, continueFlag: false });
        await expect(o.store.sync({ uid: b!, syncKey: -1, limit: 3, timeoutMs: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      });
    });
  });
});
