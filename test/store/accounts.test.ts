import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { revocationCounter, TokenReader } from '../../src/store/token-reader.js';
import { LoginThrottle } from '../../src/store/login-throttle.js';
import type { PgStore } from '../../src/store/pg/store.js';
import { ENGINES, openEngine, skipEngine, type Engine, type OpenedEngine } from './support.js';
import { pgSkipNote } from '../helpers/postgres.js';

pgSkipNote('accounts.test');

let o: OpenedEngine;
afterEach(async () => {
  await o?.cleanup();
});

describe.each(ENGINES)('%s', (engine: Engine) => {
  const open = (opts = {}) => openEngine(engine, opts);
  describe.skipIf(skipEngine(engine))('engine', () => {
    describe('accounts', () => {
      it('creates users with opaque ids and refuses a taken username', async () => {
        o = await open();
        const a = await o.store.createUser({ username: 'alice', passwordHash: 'scrypt$a' });
        expect(a.uid).toMatch(/^u[0-9a-f]{16}$/);
        await expect(o.store.createUser({ username: 'alice', passwordHash: 'scrypt$b' })).rejects.toMatchObject({
          code: 'USERNAME_TAKEN',
        });
        expect(await o.store.findUserByName({ username: 'alice' })).toEqual({ uid: a.uid, passwordHash: 'scrypt$a', disabled: false });
        expect(await o.store.findUserByName({ username: 'bob' })).toBeNull();
      });

      it('isolates a failing registration inside a batch: only it fails, the others commit', async () => {
        o = await open();
        const results = await Promise.allSettled([
          o.store.createUser({ username: 'carol', passwordHash: 'h' }),
          o.store.createUser({ username: 'carol', passwordHash: 'h2' }),
          o.store.createUser({ username: 'dave', passwordHash: 'h' }),
          o.store.createUser({ username: 'BAD NAME', passwordHash: 'h' }),
        ]);
        // SQLite runs the batch in order; PostgreSQL runs four concurrent transactions: either carol may win.
        const [first, second] = engine === 'sqlite' || results[0]!.status === 'fulfilled' ? [0, 1] : [1, 0];
        expect([results[first]!.status, results[second]!.status, results[2]!.status, results[3]!.status]).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
          'rejected',
        ]);
        expect((results[second] as PromiseRejectedResult).reason.code).toBe('USERNAME_TAKEN');
        expect((results[3] as PromiseRejectedResult).reason.code).toBe('INVALID_INPUT');
        expect((await o.store.findUserByName({ username: 'carol' }))?.passwordHash).toBe(first === 0 ? 'h' : 'h2');
        expect(await o.store.findUserByName({ username: 'dave' })).not.toBeNull();
        // All four ran in one transaction (SQLite's group commit; PostgreSQL commits each on its own).
        if (engine === 'sqlite') expect(o.store.stats().commits).toBe(1);
      });

      it.skipIf(engine !== 'sqlite')('resolves a token through its own read-only connection, and not once revoked', async () => {
        o = await open();
        const { uid } = await o.store.createUser({ username: 'erin', passwordHash: 'h' });
        const tokens = new TokenReader(o.dir);
        try {
          const { sessionId } = await o.store.createSession({ uid, tokenHash: 'th1', deviceId: 'phone' });
          expect(sessionId).toMatch(/^s[0-9a-f]{16}$/);
          // Committed when the promise resolved: another connection sees it at once.
          expect(tokens.resolve('th1')).toEqual({ uid, sessionId });
          expect(tokens.resolve('nope')).toBeNull();
          expect(await o.store.revokeSession({ sessionId })).toEqual({ revoked: true });
          expect(tokens.resolve('th1')).toBeNull();
          expect(await o.store.revokeSession({ sessionId })).toEqual({ revoked: false });
          await expect(o.store.createSession({ uid: 'u0000000000000000', tokenHash: 'th2' })).rejects.toMatchObject({
            code: 'NO_SUCH_USER',
          });
        } finally {
          tokens.close();
        }
      });

      it.skipIf(engine !== 'sqlite')(
        'caches sessions by token, and a committed revocation drops the cache before the revoker is answered',
        async () => {
          const revocations = revocationCounter();
          o = await open({ revocations });
          const { uid } = await o.store.createUser({ username: 'gina', passwordHash: 'h' });
          const tokens = new TokenReader(o.dir, revocations);
          const token = 'a'.repeat(43);
          const other = 'b'.repeat(43);
          try {
            const { sessionId } = await o.store.createSession({ uid, tokenHash: sha256(token) });
            const second = await o.store.createSession({ uid, tokenHash: sha256(other) });
            expect(tokens.authenticate(token)).toEqual({ uid, sessionId });
            expect(tokens.authenticate('c'.repeat(43))).toBeNull();
            expect(await o.store.revokeSession({ sessionId })).toEqual({ revoked: true });
            expect(Atomics.load(revocations, 0)).toBe(1);
            // Answered above: from here on the revoked token is refused, the other device still accepted.
            expect(tokens.authenticate(token)).toBeNull();
            expect(tokens.authenticate(other)).toEqual({ uid, sessionId: second.sessionId });
            // Revoking nothing moves no counter.
            expect(await o.store.revokeSession({ sessionId })).toEqual({ revoked: false });
            expect(Atomics.load(revocations, 0)).toBe(1);
            // A cached session is served without the database: shown by closing the connection under it.
            tokens.close();
            expect(tokens.authenticate(other)).toEqual({ uid, sessionId: second.sessionId });
            expect(() => tokens.authenticate('d'.repeat(43))).toThrow();
          } finally {
            tokens.close();
          }
        },
      );

      it.skipIf(engine !== 'postgres')(
        'makes and revokes sessions; a committed revocation moves the epoch and the counter before the revoker is answered',
        async () => {
          const revocations = revocationCounter();
          o = await open({ revocations });
          const { uid } = await o.store.createUser({ username: 'gina', passwordHash: 'h' });
          const { sessionId } = await o.store.createSession({ uid, tokenHash: 'th1', deviceId: 'phone' });
          expect(sessionId).toMatch(/^s[0-9a-f]{16}$/);
          const store = o.store as PgStore;
          const before = store.sessionsEpoch;
          expect(await o.store.revokeSession({ sessionId })).toEqual({ revoked: true });
          expect(store.sessionsEpoch).toBe(before + 1);
          expect(Atomics.load(revocations, 0)).toBe(1);
          // Revoking nothing moves nothing.
          expect(await o.store.revokeSession({ sessionId })).toEqual({ revoked: false });
          expect(Atomics.load(revocations, 0)).toBe(1);
          await expect(o.store.createSession({ uid: 'u0000000000000000', tokenHash: 'th2' })).rejects.toMatchObject({
            code: 'NO_SUCH_USER',
          });
          // Disabling ends every session (and moves the epoch); a disabled account gets no new one.
          await o.store.createSession({ uid, tokenHash: 'th3' });
          expect((await o.store.getUser({ username: 'gina' })).sessions).toBe(1);
          const u = await o.store.setUserDisabled({ username: 'gina', disabled: true });
          expect(u).toMatchObject({ uid, sessions: 0, disabledAt: expect.any(Number) });
          expect(Atomics.load(revocations, 0)).toBe(2);
          await expect(o.store.createSession({ uid, tokenHash: 'th4' })).rejects.toMatchObject({ code: 'ACCOUNT_DISABLED' });
          expect(await o.store.findUserByName({ username: 'gina' })).toMatchObject({ disabled: true });
          await o.store.setUserDisabled({ username: 'gina', disabled: false });
          await o.store.createSession({ uid, tokenHash: 'th5' });
          expect(await o.store.resetPassword({ username: 'gina', passwordHash: 'h2' })).toEqual({ revokedSessions: 1 });
          expect(Atomics.load(revocations, 0)).toBe(3);
          expect((await o.store.listUsers({ prefix: 'gi' })).users.map((x) => x.username)).toEqual(['gina']);
        },
      );

      it('throttles logins per account (5 failures) and per address (a larger budget), a known account passing its address', async () => {
        o = await open({ login: { accountFailures: 5, addressFailures: 8 } });
        const frank = { username: 'frank', ip: '10.0.0.1' };
        for (let i = 0; i < 4; i++) await o.store.recordLogin({ ...frank, ok: false });
        expect(await o.store.checkLogin(frank)).toEqual({ allowed: true, retryAfterSec: 0 });
        await o.store.recordLogin({ ...frank, ok: false });
        const blocked = await o.store.checkLogin(frank);
        expect(blocked.allowed).toBe(false);
        expect(blocked.retryAfterSec).toBeGreaterThanOrEqual(59);
        expect(blocked.retryAfterSec).toBeLessThanOrEqual(60);
        // The account is blocked from anywhere; the address is not, for other accounts: 5 is under its budget of 8.
        expect((await o.store.checkLogin({ username: 'frank', ip: '10.9.9.9' })).allowed).toBe(false);
        expect((await o.store.checkLogin({ username: 'grace', ip: '10.0.0.1' })).allowed).toBe(true);
        // grace signs in from the address; then others' failures push it past its budget.
        await o.store.recordLogin({ username: 'grace', ip: '10.0.0.1', ok: true });
        for (let i = 0; i < 3; i++) await o.store.recordLogin({ username: `guess${i}`, ip: '10.0.0.1', ok: false });
        expect((await o.store.checkLogin({ username: 'heidi', ip: '10.0.0.1' })).allowed).toBe(false);
        // grace is known there, so the address's budget is not hers to pay; elsewhere nobody is blocked.
        expect((await o.store.checkLogin({ username: 'grace', ip: '10.0.0.1' })).allowed).toBe(true);
        expect((await o.store.checkLogin({ username: 'heidi', ip: '10.0.0.2' })).allowed).toBe(true);
        // A success clears only the account's count.
        await o.store.recordLogin({ username: 'heidi', ip: '10.0.0.2', ok: true });
        expect((await o.store.checkLogin({ username: 'heidi', ip: '10.0.0.1' })).allowed).toBe(false);
        await expect(o.store.checkLogin({ username: 'x' } as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      });

      it('lets failures age out of the throttle window', () => {
        const t = new LoginThrottle(3, 10_000);
        t.recordFailure(['k'], 1_000);
        t.recordFailure(['k'], 2_000);
        t.recordFailure(['k'], 3_000);
        expect(t.check(['k'], 3_500)).toEqual({ allowed: false, retryAfterSec: 8 });
        // The oldest failure leaves the window at 11 000.
        expect(t.check(['k'], 11_001)).toEqual({ allowed: true, retryAfterSec: 0 });
        t.recordFailure(['other'], 30_000);
        expect(t.size).toBe(1);
      });
    });

    function sha256(s: string): string {
      return createHash('sha256').update(s).digest('hex');
    }
  });
});
