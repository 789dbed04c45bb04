/**
 * recallmsg over the real host (SPEC §6 Recall): who may recall, the window,
 * the `recalled` entries in every inbox holding the message (group inboxes
 * through the fan-out queue, here in a 150-member group), the message shown
 * as `recalled: true` in sync, getconversations and gethistory, gone from
 * search, and its media no longer readable through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, expectError, metric, newUsers, type User } from '../helpers/index.js';
import { clientMsgId, createGroup, inbox, sendGroupText, sendText, type SyncMessage } from '../messaging/client.js';
import { amr, jpeg, sha256 } from '../media/files.js';
import { getMedia, upload } from '../media/support.js';
import { call, CGIS_DIR, conversation, history, MANY_USERS_CONFIG, ok, search } from './support.js';

/** The short host's recall window: long enough to recall at once on a loaded machine, short enough to wait out. */
const WINDOW_MS = 5_000;

let h: RunningHost;
let short: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: MANY_USERS_CONFIG });
});
beforeAll(async () => {
  short = await startHost({ cgisDir: CGIS_DIR, config: { watch: false, messaging: { recallWindowMs: WINDOW_MS } } });
});
afterAll(async () => {
  await Promise.all([h?.stop(), short?.stop()]);
});

const recall = (host: RunningHost, u: User, msgId: string) => call(host, u, 'recallmsg', { msgId });
const recalledEntries = (all: SyncMessage[], msgId: string) => all.filter((m) => m.event?.kind === 'recalled' && m.event.msgId === msgId);

describe('recallmsg in a 1:1 chat', () => {
  it('puts a `recalled` entry in both inboxes and shows the message recalled everywhere; recalling again answers the same', async () => {
    const [a, b] = await newUsers(h, 2, 'rc');
    await sendText(h, a!, b!, 'keep this');
    const m = await sendText(h, a!, b!, 'oops, wrong chat 你好');
    expect((await search(h, b!, { query: 'wrong chat' })).map((x) => x.msgId)).toEqual([m.msgId]);
    const r = await recall(h, a!, m.msgId);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ recalled: true });
    for (const u of [a!, b!]) {
      const all = await inbox(h, u);
      const original = all.find((x) => x.msgId === m.msgId)!;
      expect(original).toEqual({
        seq: original.seq,
        msgId: m.msgId,
        from: a!.uid,
        to: b!.uid,
        type: 'text',
        recalled: true,
        ...(u === a ? { clientMsgId: expect.any(String) } : {}),
        createdAt: m.createdAt,
      });
      const [entry] = recalledEntries(all, m.msgId);
      expect(entry).toEqual({
        seq: all.length,
        msgId: expect.any(String),
        from: a!.uid,
        to: b!.uid,
        type: 'system',
        event: { kind: 'recalled', msgId: m.msgId, by: a!.uid },
        createdAt: expect.any(Number),
      });
      // The list shows the recall as the conversation's last entry; history shows both.
      expect((await conversation(h, u, { peer: u === a ? b!.uid : a!.uid }))!.lastMessage).toEqual(entry);
      const past = (await history(h, u, { peer: u === a ? b!.uid : a!.uid })).messages;
      expect(past.slice(0, 2)).toEqual([entry, original]);
      // Never found again.
      expect(await search(h, u, { query: 'wrong chat' })).toEqual([]);
      expect(await search(h, u, { query: '你好' })).toEqual([]);
      expect((await search(h, u, { query: 'keep' })).length).toBe(1);
    }
    const lengths = [(await inbox(h, a!)).length, (await inbox(h, b!)).length];
    expect((await recall(h, a!, m.msgId)).body).toEqual({ recalled: true });
    expect([(await inbox(h, a!)).length, (await inbox(h, b!)).length]).toEqual(lengths);
  });

  it('lets only the sender recall (403 FORBIDDEN), and says 404 NO_SUCH_MESSAGE for unknown ids', async () => {
    const [a, b, c] = await newUsers(h, 3, 'rc');
    const m = await sendText(h, a!, b!, 'mine');
    expectError(await recall(h, b!, m.msgId), 403, 'FORBIDDEN');
    expectError(await recall(h, c!, m.msgId), 403, 'FORBIDDEN');
    // A system entry is no one's message to take back.
    const { groupId } = await createGroup(h, a!, [b!]);
    const created = (await inbox(h, a!)).find((x) => x.groupId === groupId)!;
    expectError(await recall(h, a!, created.msgId), 403, 'FORBIDDEN');
    for (const msgId of ['mzzzzzzzz', 'm0', 'hello', 'M1', 'm1x!']) expectError(await recall(h, a!, msgId), 404, 'NO_SUCH_MESSAGE');
    expectError(await call(h, a!, 'recallmsg', {}), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'recallmsg', { msgId: '' }), 400, 'INVALID_INPUT');
    expectError(await h.post('recallmsg', { msgId: m.msgId }), 401, 'UNAUTHENTICATED');
    expect((await inbox(h, b!)).filter((x) => x.event?.kind === 'recalled')).toEqual([]);
  });

  it('refuses after messaging.recallWindowMs with 403 RECALL_WINDOW_PASSED, writing nothing', async () => {
    const [a, b] = await newUsers(short, 2, 'rw');
    const quick = await sendText(short, a!, b!, 'quick');
    const late = await sendText(short, a!, b!, 'late');
    expect((await recall(short, a!, quick.msgId)).status).toBe(200);
    // Past the window, by the clock the host shares with this test.
    await waitFor(() => Date.now() > late.createdAt + WINDOW_MS + 300, WINDOW_MS + 5_000, 50);
    const r = await recall(short, a!, late.msgId);
    expectError(r, 403, 'RECALL_WINDOW_PASSED');
    expect(r.body.error.details).toEqual({ recallWindowMs: WINDOW_MS });
    expect((await inbox(short, b!)).find((x) => x.msgId === late.msgId)).toMatchObject({ content: 'late' });
    // Already recalled: still the same answer after the window.
    expect((await recall(short, a!, quick.msgId)).body).toEqual({ recalled: true });
  }, 60_000);

  it('takes the media away through that message: the recipient can no longer download it, the uploader still can; voice loses durationMs', async () => {
    const [a, b] = await newUsers(h, 2, 'rm');
    const img = jpeg();
    const voice = amr();
    expect((await upload(h, img, 'image/jpeg', a!.token)).status).toBe(200);
    expect((await upload(h, voice, 'audio/amr', a!.token)).status).toBe(200);
    const pic = await ok<{ msgId: string }>(h, a!, 'sendmediamsg', {
      to: b!.uid,
      type: 'image',
      mediaId: sha256(img),
      clientMsgId: clientMsgId(),
    });
    const clip = await ok<{ msgId: string }>(h, a!, 'sendmsg', {
      to: b!.uid,
      type: 'voice',
      mediaId: sha256(voice),
      durationMs: 900,
      clientMsgId: clientMsgId(),
    });
    expect((await getMedia(h, sha256(img), b!.token)).status).toBe(200);
    expect((await getMedia(h, sha256(voice), b!.token)).status).toBe(200);
    for (const id of [pic.msgId, clip.msgId]) expect((await recall(h, a!, id)).status).toBe(200);
    expect((await getMedia(h, sha256(img), b!.token)).status).toBe(404);
    expect((await getMedia(h, sha256(voice), b!.token)).status).toBe(404);
    expect((await getMedia(h, sha256(img), a!.token)).status).toBe(200);
    const all = await inbox(h, b!);
    expect(all.find((x) => x.msgId === pic.msgId)).toEqual(expect.objectContaining({ type: 'image', recalled: true }));
    expect(all.find((x) => x.msgId === pic.msgId)).not.toHaveProperty('mediaId');
    const v = all.find((x) => x.msgId === clip.msgId)!;
    expect(v).toMatchObject({ type: 'voice', recalled: true });
    expect(v).not.toHaveProperty('durationMs');
    expect(v).not.toHaveProperty('mediaId');
    // Another message with the same image still grants it.
    await ok(h, a!, 'sendmediamsg', { to: b!.uid, type: 'image', mediaId: sha256(img), clientMsgId: clientMsgId() });
    expect((await getMedia(h, sha256(img), b!.token)).status).toBe(200);
  });

  it('answers an idempotent retry of a recalled message with its first answer', async () => {
    const [a, b] = await newUsers(h, 2, 'rm');
    const cmid = clientMsgId();
    const first = await sendText(h, a!, b!, 'retry me', cmid);
    await recall(h, a!, first.msgId);
    const again = await call(h, a!, 'sendmsg', { to: b!.uid, type: 'text', content: 'retry me', clientMsgId: cmid });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual(first);
    expectError(
      await call(h, a!, 'sendmsg', { groupId: 'g0000000000000000', type: 'text', content: 'x', clientMsgId: cmid }),
      409,
      'IDEMPOTENCY_CONFLICT',
    );
  });
});

describe('recallmsg in a group', () => {
  it('reaches every one of 150 members through the fan-out: one `recalled` entry each, the message recalled everywhere', async () => {
    const users = await newUsers(h, 150, 'rg');
    const [owner, ...rest] = users;
    const { groupId } = await createGroup(h, owner!, rest, 'one hundred fifty');
    const before = await sendGroupText(h, users[7]!, groupId, 'hello everyone');
    const m = await sendGroupText(h, users[7]!, groupId, 'sorry, wrong group 🙈');
    // At once, while the message's own fan-out may still be running.
    expect((await recall(h, users[7]!, m.msgId)).status).toBe(200);
    await waitFor(async () => (await metric(h, 'cgihost_queue_depth', { topic: 'fanout' })) === 0, 60_000, 100);
    for (const u of users) {
      const all = await inbox(h, u);
      expect(recalledEntries(all, m.msgId), u.username).toHaveLength(1);
      expect(all.filter((x) => x.msgId === m.msgId)).toEqual([expect.objectContaining({ recalled: true, type: 'text' })]);
      expect(all.find((x) => x.msgId === m.msgId)).not.toHaveProperty('content');
      expect(all.find((x) => x.msgId === before.msgId)).toMatchObject({ content: 'hello everyone' });
    }
    const sample = users[42]!;
    expect(await search(h, sample, { query: 'wrong group' })).toEqual([]);
    expect(await search(h, sample, { query: '🙈' })).toEqual([]);
    expect((await conversation(h, sample, { groupId }))!.lastMessage.event).toEqual({
      kind: 'recalled',
      msgId: m.msgId,
      by: users[7]!.uid,
    });
  }, 240_000);

  it('reaches who holds the message: a member removed since, not a member added since', async () => {
    const [a, b, c, d] = await newUsers(h, 4, 'rg');
    const { groupId } = await createGroup(h, a!, [b!, c!], 'moving');
    const m = await sendGroupText(h, a!, groupId, 'take me back');
    await waitFor(async () => (await inbox(h, c!)).some((x) => x.msgId === m.msgId));
    await ok(h, a!, 'delgroupmember', { groupId, members: [c!.uid] });
    await ok(h, a!, 'addgroupmember', { groupId, members: [d!.uid] });
    expect((await recall(h, a!, m.msgId)).status).toBe(200);
    await waitFor(async () => (await metric(h, 'cgihost_queue_depth', { topic: 'fanout' })) === 0, 20_000, 100);
    for (const u of [a!, b!, c!]) expect(recalledEntries(await inbox(h, u), m.msgId), u.username).toHaveLength(1);
    expect(recalledEntries(await inbox(h, d!), m.msgId)).toHaveLength(0);
  });
});
