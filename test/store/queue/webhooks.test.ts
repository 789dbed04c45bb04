import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dbPath } from '../../../src/store/db.js';
import { storeUsers, openStore, readAll, type Opened } from '../support.js';
import { waitFor } from '../../helpers/index.js';

let o: Opened | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await o?.cleanup();
  o = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

async function listen(handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const FAST = { backoffBaseMs: 40, backoffMaxMs: 200, webhookTimeoutMs: 300, maxAttempts: 4 };

describe('webhooks', () => {
  it('retries a failing endpoint with backoff and delivers a signed body once it answers', async () => {
    const got: Received[] = [];
    const url = await listen((req, body, res) => {
      got.push({ headers: req.headers, body });
      res.statusCode = got.length <= 2 ? 500 : 204;
      res.end();
    });
    // The endpoint answers at once: no try may time out, even on a loaded machine (timeouts are the next test's).
    o = openStore({ webhooks: [{ url, events: ['message.sent'], secret: 's3cret' }], queue: { ...FAST, webhookTimeoutMs: 10_000 } });
    const [a, b] = await storeUsers(o.store, 2);
    const sent = await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'hook me', clientMsgId: 'h1' });
    await waitFor(() => got.length === 3 && o!.store.stats().queueDepth.webhook === 0, 5_000, { what: 'the third delivery' });
    expect(got.length).toBe(3);
    // Every try carries the same body and delivery id, signed.
    for (const r of got) {
      expect(r.body).toBe(got[0]!.body);
      expect(r.headers['x-cgihost-delivery']).toBe(got[0]!.headers['x-cgihost-delivery']);
      expect(r.headers['x-cgihost-event']).toBe('message.sent');
      expect(r.headers['x-cgihost-signature']).toBe('sha256=' + createHmac('sha256', 's3cret').update(r.body).digest('hex'));
    }
    expect(JSON.parse(got[0]!.body)).toEqual({
      event: 'message.sent',
      createdAt: sent.createdAt,
      data: { msgId: sent.msgId, from: a, to: b, type: 'text', content: 'hook me', createdAt: sent.createdAt },
    });
    const s = o.store.stats();
    expect([s.queueRetries.webhook, s.queueDeadLetters.webhook, s.queueDepth.webhook]).toEqual([2, 0, 0]);
  });

  it('dead-letters a delivery to an endpoint that never answers, without slowing the fan-out', async () => {
    let hits = 0;
    const url = await listen(() => {
      hits++; // never answers
    });
    // Each try hangs for the whole timeout; the fan-out must be done before the first try of either event has ended.
    o = openStore({ webhooks: [{ url, events: ['alert', 'group.created'] }], queue: { ...FAST, maxAttempts: 3, webhookTimeoutMs: 3_000 } });
    const users = await storeUsers(o.store, 50);
    await o.store.emit('alert', { name: 'queue_lag', value: 12 });
    // While the endpoint hangs, group messages still fan out at once.
    const g = await o.store.createGroup({ owner: users[0]!, name: 'busy', members: users });
    for (let i = 0; i < 20; i++) {
      await o.store.sendMessage({ from: users[i]!, groupId: g.groupId, type: 'text', content: `m${i}`, clientMsgId: `m${i}` });
    }
    await waitFor(async () => (await readAll(o!.store, users[49]!)).length === 21, 3_000, { what: 'the fan-out' });
    const during = o.store.stats();
    expect([during.queueRetries.webhook ?? 0, during.queueDeadLetters.webhook ?? 0], 'no webhook try had ended yet').toEqual([0, 0]);
    // 2 events (alert, group.created), 3 tries each, 3 s per try.
    await waitFor(() => o!.store.stats().queueDeadLetters.webhook === 2, 25_000, { what: 'the dead letters' });
    const s = o.store.stats();
    expect([s.queueDepth.webhook, s.queueDeadLetters.webhook, s.queueRetries.webhook]).toEqual([0, 2, 4]);
    expect(hits).toBe(6);
    const db = new Database(dbPath(o.dir), { readonly: true });
    try {
      const dead = db.prepare(`SELECT attempts, last_error FROM jobs WHERE topic = 'webhook' AND state = 'dead' LIMIT 1`).get();
      expect(dead).toEqual({ attempts: 3, last_error: 'timed out after 3000 ms' });
    } finally {
      db.close();
    }
    expect(o.logs.some((l) => l.level === 'error' && l.msg === 'webhook delivery dead-lettered')).toBe(true);
  }, 40_000);

  it('delivers only the events an endpoint listens to, and resumes pending deliveries after a restart', async () => {
    const got: string[] = [];
    let up = false;
    const url = await listen((_req, body, res) => {
      if (up) got.push((JSON.parse(body) as { event: string }).event);
      res.statusCode = up ? 200 : 503;
      res.end();
    });
    const opts = { webhooks: [{ url, events: ['group.created', 'alert'] }], queue: { ...FAST, backoffBaseMs: 1_500, backoffMaxMs: 5_000 } };
    o = openStore(opts);
    const [a, b] = await storeUsers(o.store, 2);
    await o.store.sendMessage({ from: a!, to: b!, type: 'text', content: 'not delivered', clientMsgId: 'x' });
    await o.store.createGroup({ owner: a!, name: 'g', members: [b!] });
    await waitFor(() => o!.store.stats().queueRetries.webhook === 1, 5_000, { what: 'the first failure' });
    const dir = o.dir;
    await o.store.close();
    up = true;
    o = openStore({ ...opts, dataDir: dir });
    // A new event goes out at once; the pending one when its retry is due (1.1 to 1.9 s after its first try).
    const t0 = Date.now();
    await o.store.emit('alert', { name: 'x' });
    await waitFor(() => got.length === 1, 1_000, { what: 'the alert' });
    expect(Date.now() - t0).toBeLessThan(800);
    await waitFor(() => got.length === 2, 4_000, { what: 'the retried delivery' });
    expect(got).toEqual(['alert', 'group.created']);
    // The delivery's outcome is written once the answer is in.
    await waitFor(() => o!.store.stats().queueDepth.webhook === 0, 2_000, { what: 'the done mark' });
  });
});
