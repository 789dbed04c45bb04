/**
 * 1:1 send and sync over the real host (SPEC §4 The inbox, Send, Sync):
 * answers, inbox entries and their exact shape, dense seqs, paging, input
 * rules, idempotent retries, and that sync only ever reads the caller's inbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientMsgId, expectDense, inbox, send, sendText, sync, type SyncMessage } from './client.js';
import { expectError, newUser, newUsers, PROJECT_CGIS, type RunningHost, startHost, type User } from '../helpers/index.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS });
});
afterAll(async () => {
  await h?.stop();
});

describe('sendmsg and the inboxes', () => {
  it('answers {msgId, seq, createdAt} and writes one entry in each inbox, of the exact SPEC shape', async () => {
    const [a, b] = await newUsers(h, 2);
    const cmid = clientMsgId();
    const before = Date.now();
    const r = await h.post('sendmsg', { to: b!.uid, type: 'text', content: 'hello 👋', clientMsgId: cmid }, { token: a!.token });
    const after = Date.now();
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['createdAt', 'msgId', 'seq']);
    expect(typeof r.body.msgId).toBe('string');
    expect(r.body.seq).toBe(1);
    expect(Number.isInteger(r.body.createdAt)).toBe(true);
    expect(r.body.createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(r.body.createdAt).toBeLessThanOrEqual(after + 1000);

    const { msgId, createdAt } = r.body;
    const bs = await sync(h, b!, { syncKey: 0 });
    expect(bs.status, bs.text).toBe(200);
    // The recipient's entry: `to`, no clientMsgId, no groupId, no null anywhere.
    expect(bs.body).toEqual({
      messages: [{ seq: 1, msgId, from: a!.uid, to: b!.uid, type: 'text', content: 'hello 👋', createdAt }],
      syncKey: 1,
      continueFlag: false,
    });
    expect(bs.text).not.toContain('null');
    // The sender's own entry carries its clientMsgId.
    const as = await sync(h, a!, { syncKey: 0 });
    expect(as.body).toEqual({
      messages: [{ seq: 1, msgId, from: a!.uid, to: b!.uid, type: 'text', content: 'hello 👋', clientMsgId: cmid, createdAt }],
      syncKey: 1,
      continueFlag: false,
    });
    expect(as.text).not.toContain('null');
  });

  it('keeps each inbox dense, 1..n, in both directions', async () => {
    const [a, b, c] = await newUsers(h, 3);
    const plan: Array<[User, User]> = [
      [a!, b!],
      [b!, a!],
      [a!, c!],
      [c!, b!],
      [a!, b!],
      [b!, c!],
      [c!, a!],
    ];
    const acks = [];
    for (const [from, to] of plan) acks.push({ from, to, ack: await sendText(h, from, to, `${from.username}->${to.username}`) });
    for (const u of [a!, b!, c!]) {
      const mine = await inbox(h, u);
      expectDense(mine);
      const involved = acks.filter((x) => x.from === u || x.to === u);
      expect(mine.map((m) => m.msgId)).toEqual(involved.map((x) => x.ack.msgId));
      // The seq each sender was told is its own entry of that message.
      for (const x of acks.filter((y) => y.from === u)) expect(mine.find((m) => m.msgId === x.ack.msgId)!.seq).toBe(x.ack.seq);
    }
  });

  it('a message to oneself is one entry, not two', async () => {
    const a = await newUser(h);
    const ack = await sendText(h, a, a, 'note to self');
    const mine = await inbox(h, a);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ seq: 1, msgId: ack.msgId, from: a.uid, to: a.uid, content: 'note to self' });
  });

  it('refuses an unknown recipient with 404 NO_SUCH_USER and writes nothing', async () => {
    const a = await newUser(h);
    expectError(await send(h, a, { to: 'u0000000000000000', content: 'x' }), 404, 'NO_SUCH_USER');
    expect(await inbox(h, a)).toEqual([]);
    // The seq was not used up: the next message is still seq 1.
    expect((await sendText(h, a, a, 'first')).seq).toBe(1);
  });

  it('needs exactly one of to and groupId', async () => {
    const [a, b] = await newUsers(h, 2);
    expectError(await send(h, a!, { content: 'x' }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { to: b!.uid, groupId: 'g123', content: 'x' }), 400, 'INVALID_INPUT');
    expect(await inbox(h, a!)).toEqual([]);
  });
});

describe('message content rules', () => {
  let a: User;
  let b: User;
  beforeAll(async () => {
    [a, b] = (await newUsers(h, 2)) as [User, User];
  });

  it('takes text of 1..4096 code points, counting an emoji as one', async () => {
    const max = '😀'.repeat(4096);
    const ok = await send(h, a, { to: b.uid, content: max });
    expect(ok.status, ok.text.slice(0, 300)).toBe(200);
    const got = (await inbox(h, b)).find((m) => m.msgId === ok.body.msgId)!;
    expect(got.content).toBe(max);
    expectError(await send(h, a, { to: b.uid, content: '😀'.repeat(4097) }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid, content: 'x'.repeat(4097) }), 400, 'INVALID_INPUT');
    expect((await send(h, a, { to: b.uid, content: 'x'.repeat(4096) })).status).toBe(200);
    expect((await send(h, a, { to: b.uid, content: 'x' })).status).toBe(200);
    expectError(await send(h, a, { to: b.uid, content: '' }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid, content: 42 }), 400, 'INVALID_INPUT');
  });

  it('refuses text with U+0000 (NUL), which PostgreSQL cannot store: an install must always be able to move to it', async () => {
    const r = await send(h, a, { to: b.uid, content: 'a\u0000b' });
    expectError(r, 400, 'INVALID_INPUT');
    expect(r.body.error.message).toBe('text content must not contain U+0000 (NUL)');
    expectError(await h.post('searchmsgs', { query: 'a\u0000' }, { token: a.token }), 400, 'INVALID_INPUT');
    expectError(await h.post('addcontact', { uid: b.uid, greeting: 'hi\u0000' }, { token: a.token }), 400, 'INVALID_INPUT');
  });

  it('refuses text that is not well-formed Unicode, rather than storing it altered', async () => {
    // "a\ud800b" holds a lone surrogate: JSON carries it, UTF-8 (and so SQLite) cannot.
    const body = JSON.stringify({ to: b.uid, type: 'text', content: 'a\ud800b', clientMsgId: clientMsgId('lone') });
    const first = await h.post('sendmsg', body, { token: a.token });
    if (first.status === 200) {
      // Accepted: then it must be kept exactly, and an identical retry must get the same answer.
      const retry = await h.post('sendmsg', body, { token: a.token });
      expect(retry.status, `identical retry: ${retry.text}`).toBe(200);
      expect(retry.body).toEqual(first.body);
      const got = (await inbox(h, b)).find((m) => m.msgId === first.body.msgId)!;
      expect(got.content).toBe('a\ud800b');
    } else {
      expectError(first, 400, 'INVALID_INPUT');
    }
  });

  it('refuses other types, and media fields on a text message', async () => {
    expectError(await send(h, a, { to: b.uid, type: 'image', mediaId: 'a'.repeat(64) }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid, type: 'system', content: 'x' }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid, type: 'sticker', content: 'x' }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid, content: 'x', durationMs: 10 }), 400, 'INVALID_INPUT');
    expectError(await send(h, a, { to: b.uid, content: 'x', mediaId: 'a'.repeat(64) }), 400, 'INVALID_INPUT');
  });

  it('takes a clientMsgId of 1..64 characters of [A-Za-z0-9_-]', async () => {
    for (const ok of ['a', 'Z-9_z', 'x'.repeat(64)]) {
      const r = await send(h, a, { to: b.uid, content: 'ok', clientMsgId: ok });
      expect(r.status, `${ok}: ${r.text}`).toBe(200);
    }
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a.b', 'a/b', 'é', 'a+b', '😀']) {
      expectError(await send(h, a, { to: b.uid, content: 'bad', clientMsgId: bad }), 400, 'INVALID_INPUT');
    }
    expectError(await h.post('sendmsg', { to: b.uid, type: 'text', content: 'none' }, { token: a.token }), 400, 'INVALID_INPUT');
  });

  it('refuses a body that is not JSON with 400 INVALID_JSON', async () => {
    expectError(await h.post('sendmsg', '{"to": ', { token: a.token }), 400, 'INVALID_JSON');
  });
});

describe('voice', () => {
  it('needs mediaId and durationMs 1..60000, and an existing voice clip', async () => {
    const [a, b] = await newUsers(h, 2);
    const voice = { to: b!.uid, type: 'voice' };
    const missing = 'f'.repeat(64);
    expectError(await send(h, a!, { ...voice, durationMs: 1200 }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: missing }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: missing, durationMs: 0 }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: missing, durationMs: 60_001 }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: missing, durationMs: 1.5 }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: 'not-a-sha256', durationMs: 1200 }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: missing, durationMs: 1200, content: 'x' }), 400, 'INVALID_INPUT');
    expectError(await send(h, a!, { ...voice, mediaId: missing, durationMs: 1200 }), 404, 'NO_SUCH_MEDIA');
    expect(await inbox(h, a!)).toEqual([]);

    // A real clip: uploaded, sent, and synced with mediaId and durationMs (no content).
    const clip = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(200, 7)]);
    const up = await fetch(`${h.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a!.token}`, 'content-type': 'audio/ogg' },
      body: clip,
    });
    const upBody = (await up.json()) as { mediaId: string; kind: string };
    expect(up.status, JSON.stringify(upBody)).toBe(200);
    expect(upBody.kind).toBe('voice');
    const cmid = clientMsgId();
    const r = await send(h, a!, { ...voice, mediaId: upBody.mediaId, durationMs: 1200, clientMsgId: cmid });
    expect(r.status, r.text).toBe(200);
    const [entry] = await inbox(h, b!);
    expect(entry).toEqual({
      seq: 1,
      msgId: r.body.msgId,
      from: a!.uid,
      to: b!.uid,
      type: 'voice',
      mediaId: upBody.mediaId,
      durationMs: 1200,
      createdAt: r.body.createdAt,
    });
    // An image is not a voice clip.
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(64, 1)]);
    const img = await fetch(`${h.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a!.token}`, 'content-type': 'image/png' },
      body: png,
    });
    const imgBody = (await img.json()) as { mediaId: string };
    expect(img.status).toBe(200);
    expectError(await send(h, a!, { ...voice, mediaId: imgBody.mediaId, durationMs: 1200 }), 400, 'MEDIA_KIND_MISMATCH');
  });
});

describe('idempotent retries', () => {
  it('the same clientMsgId and payload gets the first answer again, and nothing is written twice', async () => {
    const [a, b] = await newUsers(h, 2);
    const body = { to: b!.uid, type: 'text', content: 'once', clientMsgId: clientMsgId('idem') };
    const first = await h.post('sendmsg', body, { token: a!.token });
    expect(first.status, first.text).toBe(200);
    const again = await h.post('sendmsg', body, { token: a!.token });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual(first.body);
    // Retries racing each other, too.
    const racing = await Promise.all([1, 2, 3, 4, 5].map(() => h.post('sendmsg', body, { token: a!.token })));
    for (const r of racing) {
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual(first.body);
    }
    expect((await inbox(h, a!)).map((m) => m.msgId)).toEqual([first.body.msgId]);
    expect((await inbox(h, b!)).map((m) => m.msgId)).toEqual([first.body.msgId]);
    // A new message after the retries still gets the next seq.
    expect((await sendText(h, a!, b!, 'next')).seq).toBe(2);
  });

  it('concurrent first sends with one clientMsgId write once', async () => {
    const [a, b] = await newUsers(h, 2);
    const body = { to: b!.uid, type: 'text', content: 'race', clientMsgId: clientMsgId('race') };
    const rs = await Promise.all(Array.from({ length: 8 }, () => h.post('sendmsg', body, { token: a!.token })));
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(rs.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(await inbox(h, a!)).toHaveLength(1);
    expect(await inbox(h, b!)).toHaveLength(1);
  });

  it('a clientMsgId whose first send was refused is free to use', async () => {
    const [a, b] = await newUsers(h, 2);
    const cmid = clientMsgId('refused');
    expectError(
      await h.post('sendmsg', { to: 'u0000000000000000', type: 'text', content: 'x', clientMsgId: cmid }, { token: a!.token }),
      404,
      'NO_SUCH_USER',
    );
    const r = await h.post('sendmsg', { to: b!.uid, type: 'text', content: 'x', clientMsgId: cmid }, { token: a!.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body.seq).toBe(1);
  });

  it('the same clientMsgId with a different payload is 409 IDEMPOTENCY_CONFLICT', async () => {
    const [a, b, c] = await newUsers(h, 3);
    const cmid = clientMsgId('conf');
    const first = await h.post('sendmsg', { to: b!.uid, type: 'text', content: 'one', clientMsgId: cmid }, { token: a!.token });
    expect(first.status).toBe(200);
    expectError(
      await h.post('sendmsg', { to: b!.uid, type: 'text', content: 'two', clientMsgId: cmid }, { token: a!.token }),
      409,
      'IDEMPOTENCY_CONFLICT',
    );
    expectError(
      await h.post('sendmsg', { to: c!.uid, type: 'text', content: 'one', clientMsgId: cmid }, { token: a!.token }),
      409,
      'IDEMPOTENCY_CONFLICT',
    );
    expect(await inbox(h, a!)).toHaveLength(1);
    expect(await inbox(h, b!)).toHaveLength(1);
    expect(await inbox(h, c!)).toHaveLength(0);
    // Idempotency is per sender: another sender may use the same clientMsgId.
    const other = await h.post('sendmsg', { to: b!.uid, type: 'text', content: 'two', clientMsgId: cmid }, { token: c!.token });
    expect(other.status, other.text).toBe(200);
    expect(other.body.msgId).not.toBe(first.body.msgId);
  });
});

describe('sync', () => {
  let a: User;
  let b: User;
  let sent: string[];
  beforeAll(async () => {
    [a, b] = (await newUsers(h, 2)) as [User, User];
    sent = [];
    for (let i = 0; i < 7; i++) sent.push((await sendText(h, a, b, `m${i}`)).msgId);
  });

  it('pages with syncKey, limit and continueFlag', async () => {
    const p1 = await sync(h, b, { syncKey: 0, limit: 3 });
    expect(p1.status, p1.text).toBe(200);
    expect(p1.body.messages.map((m: SyncMessage) => [m.seq, m.msgId])).toEqual([
      [1, sent[0]],
      [2, sent[1]],
      [3, sent[2]],
    ]);
    expect([p1.body.syncKey, p1.body.continueFlag]).toEqual([3, true]);
    const p2 = await sync(h, b, { syncKey: 3, limit: 3 });
    expect(p2.body.messages.map((m: SyncMessage) => m.seq)).toEqual([4, 5, 6]);
    expect([p2.body.syncKey, p2.body.continueFlag]).toEqual([6, true]);
    const p3 = await sync(h, b, { syncKey: 6, limit: 3 });
    expect(p3.body.messages.map((m: SyncMessage) => m.seq)).toEqual([7]);
    expect([p3.body.syncKey, p3.body.continueFlag]).toEqual([7, false]);
    // Exactly `limit` left: no more waiting, so continueFlag is false.
    const exact = await sync(h, b, { syncKey: 4, limit: 3 });
    expect(exact.body.messages.map((m: SyncMessage) => m.seq)).toEqual([5, 6, 7]);
    expect(exact.body.continueFlag).toBe(false);
    // Nothing new: an empty list and the same syncKey.
    expect((await sync(h, b, { syncKey: 7 })).body).toEqual({ messages: [], syncKey: 7, continueFlag: false });
    // A syncKey ahead of the inbox is refused, naming the last seq (SPEC §10; more in sync-key-ahead.test.ts).
    const ahead = await sync(h, b, { syncKey: 50 });
    expectError(ahead, 409, 'SYNC_KEY_AHEAD');
    expect(ahead.body.error.details).toEqual({ lastSeq: 7 });
    // From the middle, without limit.
    expect((await sync(h, b, { syncKey: 5 })).body.messages.map((m: SyncMessage) => m.seq)).toEqual([6, 7]);
  });

  it('takes limit 1..500 (default 100), syncKey >= 0 and timeoutMs 0..30000', async () => {
    for (const bad of [
      { syncKey: 0, limit: 0 },
      { syncKey: 0, limit: 501 },
      { syncKey: 0, limit: 1.5 },
      { syncKey: -1 },
      { syncKey: 0.5 },
      {},
      { syncKey: '0' },
      { syncKey: 0, timeoutMs: -1 },
      { syncKey: 0, timeoutMs: 30_001 },
    ]) {
      expectError(await h.post('sync', bad, { token: b.token }), 400, 'INVALID_INPUT');
    }
    expect((await sync(h, b, { syncKey: 0, limit: 1 })).body.messages).toHaveLength(1);
    expect((await sync(h, b, { syncKey: 0, limit: 500 })).body.messages).toHaveLength(7);
  });

  it('returns at most 100 entries by default', async () => {
    const [c, d] = await newUsers(h, 2);
    for (let i = 0; i < 105; i += 15) {
      await Promise.all(Array.from({ length: Math.min(15, 105 - i) }, (_, j) => sendText(h, c!, d!, `bulk ${i + j}`)));
    }
    const r = await sync(h, d!, { syncKey: 0 });
    expect(r.body.messages).toHaveLength(100);
    expect(r.body.syncKey).toBe(100);
    expect(r.body.continueFlag).toBe(true);
    expectDense(r.body.messages);
    const rest = await sync(h, d!, { syncKey: 100 });
    expect(rest.body.messages.map((m: SyncMessage) => m.seq)).toEqual([101, 102, 103, 104, 105]);
    expect(rest.body.continueFlag).toBe(false);
  });

  it('answers a large sync (its bytes handed over by the worker, not copied) whole and exact, multi-byte text included', async () => {
    const [c, d] = await newUsers(h, 2);
    const texts = Array.from({ length: 60 }, (_, i) => `${i} ${'😀é'.repeat(40)}`);
    for (let i = 0; i < texts.length; i += 15) await Promise.all(texts.slice(i, i + 15).map((t) => sendText(h, c!, d!, t)));
    const r = await sync(h, d!, { syncKey: 0 });
    expect(r.status, r.text).toBe(200);
    // Well past the size that crosses as bytes (8 K characters).
    expect(r.text.length).toBeGreaterThan(10_000);
    expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(r.text));
    expect(r.body.messages.map((m: SyncMessage) => m.content).sort()).toEqual([...texts].sort());
    expectDense(r.body.messages);
  });

  it("only ever reads the caller's own inbox", async () => {
    const eve = await newUser(h);
    expect((await sync(h, eve, { syncKey: 0 })).body.messages).toEqual([]);
    // Naming someone else is no way in: refused, or ignored (the caller's own inbox).
    for (const extra of [{ uid: b.uid }, { to: b.uid }, { userId: b.uid }]) {
      const r = await h.post('sync', { syncKey: 0, ...extra }, { token: eve.token });
      if (r.status === 200) expect(r.body.messages).toEqual([]);
      else expectError(r, 400, 'INVALID_INPUT');
    }
    // Each of a and b sees exactly the entries of its own inbox: b's without clientMsgId, a's with it.
    const bs = await inbox(h, b);
    expect(bs.map((m) => m.msgId)).toEqual(sent);
    expect(bs.every((m) => m.to === b.uid && m.clientMsgId === undefined)).toBe(true);
    const as = await inbox(h, a);
    expect(as.map((m) => m.msgId)).toEqual(sent);
    expect(as.every((m) => m.from === a.uid && typeof m.clientMsgId === 'string')).toBe(true);
  });
});
