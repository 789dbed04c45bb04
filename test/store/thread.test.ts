/**
 * The store as the host runs it: its own thread (the real bundle), a port per
 * CGI worker, the control channel, and the token reader on the main thread.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogger } from '../../src/log.js';
import { StoreHost } from '../../src/store/host.js';
import type { StoreRequest, StoreResponse } from '../../src/store/protocol.js';
import type { TokenReader } from '../../src/store/token-reader.js';
import { bundle, removeBundle } from './support.js';
import { ROOT, tempDir, waitFor } from '../helpers/index.js';

let threadFile: string;
beforeAll(async () => {
  threadFile = await bundle(join(ROOT, 'src/store/thread.ts'));
});
afterAll(() => removeBundle(threadFile));

/** A CGI worker's side of its port, as a tiny RPC client. */
function client(port: MessagePort) {
  let id = 0;
  const pending = new Map<number, (r: StoreResponse) => void>();
  port.on('message', (batch: StoreResponse[]) => {
    for (const r of batch) {
      pending.get(r.id)?.(r);
      pending.delete(r.id);
    }
  });
  return {
    call(op: string, args: unknown, requestId = 'req') {
      const m = { t: 'call', id: ++id, op, args, requestId } as StoreRequest;
      return new Promise<StoreResponse>((resolve) => {
        pending.set(m.t === 'call' ? m.id : 0, resolve);
        port.postMessage([m]);
      });
    },
    cancel(requestId: string) {
      port.postMessage([{ t: 'cancel', requestId } satisfies StoreRequest]);
    },
  };
}

function recorder() {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const log = forwardLogger((level, msg, fields) => lines.push({ level, msg, fields }));
  return { lines, log };
}

describe('StoreHost and the store thread', () => {
  it('serves calls on attached ports, maps errors, resolves tokens on the main thread', async () => {
    const dir = tempDir();
    const { lines, log } = recorder();
    const host = await StoreHost.start({ threadFile, dataDir: dir, synchronous: 'NORMAL', log });
    const port = host.connect();
    const c = client(port);
    try {
      const r1 = await c.call('createUser', { username: 'alice', passwordHash: 'h' });
      expect(r1).toMatchObject({ t: 'result', ok: true, value: { uid: expect.stringMatching(/^u/) } });
      const uid = (r1 as { value: { uid: string } }).value.uid;
      expect(await c.call('createUser', { username: 'alice', passwordHash: 'h' })).toEqual({
        t: 'result',
        id: 2,
        ok: false,
        error: { code: 'USERNAME_TAKEN', message: 'this username is taken' },
      });
      // Only StoreApi operations may be called; anything else is a bare INTERNAL, logged.
      expect(await c.call('close', {})).toEqual({
        t: 'result',
        id: 3,
        ok: false,
        error: { code: 'INTERNAL', message: 'internal store error' },
      });
      await waitFor(() => lines.some((l) => l.msg === 'store operation failed'), 2_000, { what: 'the log line' });
      expect(lines.find((l) => l.msg === 'store operation failed')).toMatchObject({
        level: 'error',
        fields: { src: 'store', op: 'close' },
      });

      const s = await c.call('createSession', { uid, tokenHash: 'hash-1' });
      const sessionId = (s as { value: { sessionId: string } }).value.sessionId;
      expect((host.tokens as TokenReader).resolve('hash-1')).toEqual({ uid, sessionId });
      await c.call('revokeSession', { sessionId });
      expect((host.tokens as TokenReader).resolve('hash-1')).toBeNull();

      expect((await host.stats()).commits).toBeGreaterThanOrEqual(3);
      await host.emit('alert', { name: 'nobody listens' });
    } finally {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends held syncs on cancel, when the worker port closes, and on releaseWaiters', async () => {
    const dir = tempDir();
    const host = await StoreHost.start({ threadFile, dataDir: dir, synchronous: 'NORMAL', log: recorder().log });
    try {
      const port = host.connect();
      const c = client(port);
      const u = await c.call('createUser', { username: 'bob', passwordHash: 'h' });
      const uid = (u as { value: { uid: string } }).value.uid;
      const sync = (requestId: string) => c.call('sync', { uid, syncKey: 0, limit: 10, timeoutMs: 30_000 }, requestId);

      const t0 = Date.now();
      const held = sync('r-cancel');
      await waitFor(async () => (await host.stats()).syncWaiters === 1, 2_000, { what: 'the waiter' });
      c.cancel('r-cancel');
      expect(await held).toMatchObject({ ok: true, value: { messages: [], syncKey: 0, continueFlag: false } });
      expect(Date.now() - t0).toBeLessThan(2_000);

      // The worker goes away: its port closes and its held sync ends.
      const other = host.connect();
      const c2 = client(other);
      void c2.call('sync', { uid, syncKey: 0, limit: 10, timeoutMs: 30_000 }, 'r-gone');
      await waitFor(async () => (await host.stats()).syncWaiters === 1, 2_000, { what: 'the second waiter' });
      other.close();
      await waitFor(async () => (await host.stats()).syncWaiters === 0, 2_000, { what: 'the closed port to release its waiter' });

      const held2 = sync('r-release');
      await waitFor(async () => (await host.stats()).syncWaiters === 1, 2_000, { what: 'the third waiter' });
      expect(await host.releaseWaiters()).toBe(1);
      expect(await held2).toMatchObject({ ok: true, value: { messages: [] } });
      port.close();
    } finally {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects pending and later control calls when the thread dies, and logs it', async () => {
    const dir = tempDir();
    const { lines, log } = recorder();
    let exitCode: number | undefined;
    const host = await StoreHost.start({ threadFile, dataDir: dir, log, onExit: (code) => (exitCode = code) });
    try {
      // Simulate a crash of the thread. The call goes out once the thread is already stopping, so it is
      // never answered (one made before terminate() could be answered first: that raced, once in a CI run).
      const terminated = (host as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      const pending = host.stats();
      await terminated;
      await expect(pending).rejects.toThrow(/store thread exited/);
      await expect(host.stats()).rejects.toThrow(/store thread exited/);
      expect(exitCode).toBe(1);
      expect(lines.some((l) => l.level === 'error' && l.msg === 'the store thread exited unexpectedly')).toBe(true);
      // A port handed out now is closed at once, so a worker's calls fail instead of hanging.
      const port = host.connect();
      await new Promise<void>((resolve) => port.once('close', () => resolve()));
    } finally {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails to start on a bad data dir, with the reason', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    try {
      await expect(StoreHost.start({ threadFile, dataDir: join(file, 'data'), log: recorder().log })).rejects.toThrow(
        /the store thread failed to start: ENOTDIR/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
