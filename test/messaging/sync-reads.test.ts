/**
 * Where a sync is read (issue 18): a sync with entries waiting is answered
 * from the CGI worker's own read-only connection to the SQLite file, with no
 * call to the store thread; one with none waiting (to be held, or a key past
 * the end) goes to the store thread, which holds it or refuses it. Watched on
 * the port between the sync CGI's real worker and the real store thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCgi } from '../../src/host/compile.js';
import { silentLogger } from '../../src/log.js';
import type { StoreClient } from '../../src/store/api.js';
import { dbPath } from '../../src/store/db.js';
import { StoreHost } from '../../src/store/host.js';
import { CgiWorker } from '../../src/worker/cgi-worker.js';
import { StoreRpc } from '../../src/worker/store-client.js';
import { PROJECT_CGIS, ROOT } from '../helpers/index.js';

const DIST_DIR = join(ROOT, 'dist');

let dir: string;
let store: StoreHost;
let worker: CgiWorker;
let direct: StoreClient;
/** The store operations the sync CGI's worker sent to the store thread, in order. */
const crossed: string[] = [];
let seq = 0;

/** A port to the store thread that records the operations going through it. */
function watchedPort(toStore: MessagePort): MessagePort {
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (batch: Array<{ t: string; op?: string }>) => {
    for (const m of batch) if (m.t === 'call') crossed.push(m.op!);
    toStore.postMessage(batch);
  });
  toStore.on('message', (batch) => port2.postMessage(batch));
  return port1;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgihost-sync-reads-'));
  store = await StoreHost.start({
    threadFile: join(DIST_DIR, 'store-thread.js'),
    dataDir: dir,
    synchronous: 'NORMAL',
    groupsMaxMembers: 500,
    webhooks: [],
    log: silentLogger,
  });
  direct = new StoreRpc(store.connect({ group: 'test', unit: 'test' })).clientFor('test');
  const file = join(PROJECT_CGIS, 'msgsync', 'sync.ts');
  const compiled = await compileCgi(file);
  worker = new CgiWorker({
    workerFile: join(DIST_DIR, 'worker.cjs'),
    spec: {
      cgi: 'sync',
      group: 'msgsync',
      file,
      version: compiled.version,
      code: compiled.code,
      storePort: watchedPort(store.connect({ group: 'msgsync', unit: 'sync' })),
      env: {},
      fetchAllow: [],
      defaultTimeoutMs: 10_000,
      sqliteFile: dbPath(dir),
      recalls: store.recalls,
      commits: store.commits,
    },
    maxHeapMb: 128,
    heartbeatMs: 1_000,
    onLog: () => {},
    onExit: () => {},
  });
  await worker.ready;
});

afterAll(async () => {
  await worker?.terminate('retired');
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function sync(uid: string, input: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const reply = await worker.dispatch({ requestId: `r${++seq}`, uid, ip: '127.0.0.1', headers: {}, json: JSON.stringify(input) }, 10_000);
  if (reply.t !== 'res') return { status: reply.status, body: reply.body };
  const text = typeof reply.json === 'string' ? reply.json : Buffer.from(reply.json).toString('utf8');
  return { status: reply.status, body: JSON.parse(text) };
}

describe('sync in the CGI worker', () => {
  it('reads waiting entries on its own connection, sees every committed send and recall at once, and pages the same way', async () => {
    const { uid: a } = await direct.createUser({ username: `sra${Date.now()}`, passwordHash: 'x' });
    const { uid: b } = await direct.createUser({ username: `srb${Date.now()}`, passwordHash: 'x' });
    const sent = [];
    for (let i = 0; i < 5; i++) {
      sent.push(await direct.sendMessage({ from: a, to: b, type: 'text', content: `m${i}`, clientMsgId: `c${seq}-${i}` }));
      // Each send is answered after its commit: the worker's next read, on another thread, has it.
      const r = await sync(b, { syncKey: 0, limit: 100 });
      expect(r.body.messages.map((m: { content: string }) => m.content)).toEqual(sent.map((_, j) => `m${j}`));
    }
    crossed.length = 0;
    const page = await sync(b, { syncKey: 1, limit: 2 });
    expect(page.body).toMatchObject({ syncKey: 3, continueFlag: true });
    expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([2, 3]);
    await direct.recallMessage({ uid: a, msgId: sent[4]!.msgId });
    const after = await sync(b, { syncKey: 4, limit: 100 });
    expect(after.body.messages[0]).toMatchObject({ seq: 5, recalled: true });
    expect(after.body.messages[0].content).toBeUndefined();
    expect(crossed).toEqual([]);
  });

  it('keeps message rows read by one inbox for the next, each entry with its own seq and what its owner may see', async () => {
    const { uid: c } = await direct.createUser({ username: `src${Date.now()}`, passwordHash: 'x' });
    const { uid: d } = await direct.createUser({ username: `srd${Date.now()}`, passwordHash: 'x' });
    // d's inbox starts with one entry of its own, so the two inboxes' seqs of the same messages differ.
    await direct.sendMessage({ from: d, to: c, type: 'text', content: 'first', clientMsgId: `d${seq}` });
    for (let i = 0; i < 12; i++) await direct.sendMessage({ from: c, to: d, type: 'text', content: `n${i}`, clientMsgId: `n${seq}-${i}` });
    crossed.length = 0;
    // The sender's read (12 new rows: one joined read), then the recipient's (all rows cached), then a page of each again.
    const mine = await sync(c, { syncKey: 1, limit: 100 });
    const theirs = await sync(d, { syncKey: 1, limit: 100 });
    expect(mine.body.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    expect(theirs.body.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    expect(mine.body.messages.every((m: { clientMsgId?: string }) => typeof m.clientMsgId === 'string')).toBe(true);
    expect(theirs.body.messages.some((m: { clientMsgId?: string }) => m.clientMsgId !== undefined)).toBe(false);
    expect(theirs.body.messages.map((m: { content: string }) => m.content)).toEqual(Array.from({ length: 12 }, (_, i) => `n${i}`));
    const again = await sync(d, { syncKey: 0, limit: 3 });
    expect(again.body).toMatchObject({ syncKey: 3, continueFlag: true });
    expect(again.body.messages.map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([
      [1, 'first'],
      [2, 'n0'],
      [3, 'n1'],
    ]);
    // The same answers as the store thread's own read.
    expect(theirs.body).toEqual(await direct.sync({ uid: d, syncKey: 1, limit: 100, timeoutMs: 0 }));
    expect(crossed).toEqual([]);
  });

  it('sends a sync with nothing waiting to the store thread: held there until a send, or refused past the end', async () => {
    const { uid: a } = await direct.createUser({ username: `srh${Date.now()}`, passwordHash: 'x' });
    const { uid: b } = await direct.createUser({ username: `sri${Date.now()}`, passwordHash: 'x' });
    crossed.length = 0;
    expect((await sync(b, { syncKey: 0 })).body).toEqual({ messages: [], syncKey: 0, continueFlag: false });
    const held = sync(b, { syncKey: 0, timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 100));
    await direct.sendMessage({ from: a, to: b, type: 'text', content: 'wake', clientMsgId: `w${seq}` });
    const woken = await held;
    expect(woken.body.messages.map((m: { content: string }) => m.content)).toEqual(['wake']);
    const ahead = await sync(b, { syncKey: 9 });
    expect(ahead.status).toBe(409);
    expect(ahead.body.error).toMatchObject({ code: 'SYNC_KEY_AHEAD', details: { lastSeq: 1 } });
    expect(crossed).toEqual(['sync', 'sync', 'sync']);
  });

  it('checks its input as the store thread does', async () => {
    crossed.length = 0;
    const r = await worker.dispatch(
      { requestId: `r${++seq}`, uid: undefined, ip: '127.0.0.1', headers: {}, json: '{"syncKey":0}' },
      10_000,
    );
    expect(r.status).toBe(400);
    expect(crossed).toEqual([]);
  });
});
