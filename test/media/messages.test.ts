/**
 * Media in messages on a real host: a message grants its recipients read
 * access (so forwarding needs no new upload), nobody sends what they may not
 * read, kinds must match (MEDIA_KIND_MISMATCH), voice clips in sendmsg, and
 * group media reaching every member.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amr, gif, mp4, ogg, png, webp } from './files.js';
import { getMedia, startMediaHost, upload, stopAndClean } from './support.js';
import { newUsers, type RunningHost, type User, waitFor } from '../helpers/index.js';

let host: RunningHost;
let a: User, b: User, c: User, d: User, e: User;
let n = 0;
const cmid = () => `c-${++n}`;

beforeAll(async () => {
  host = await startMediaHost();
  [a, b, c, d, e] = await newUsers(host, ['ann', 'ben', 'cat', 'dan', 'eve']);
});
afterAll(async () => {
  await stopAndClean(host);
});

async function uploadAs(u: User, bytes: Buffer, type: string): Promise<string> {
  const r = await upload(host, bytes, type, u.token);
  if (r.status !== 200) throw new Error(`upload ${type}: ${r.status} ${r.text}`);
  return r.body.mediaId;
}

const canRead = async (u: User, id: string) => (await getMedia(host, id, u.token)).status;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function inbox(u: User): Promise<any[]> {
  const r = await host.post('sync', { syncKey: 0, limit: 500 }, { token: u.token });
  expect(r.status, r.text).toBe(200);
  return r.body.messages;
}

describe('media access through messages', () => {
  it('a recipient may read, a non-recipient may not; forwarding passes access on', async () => {
    const img = png();
    const id = await uploadAs(a, img, 'image/png');
    expect(await canRead(b, id)).toBe(404);

    const sent = await host.post('sendmediamsg', { to: b.uid, type: 'image', mediaId: id, clientMsgId: cmid() }, { token: a.token });
    expect(sent.status, sent.text).toBe(200);
    const got = await getMedia(host, id, b.token);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(img)).toBe(true);
    expect(await canRead(c, id)).toBe(404);
    const seen = (await inbox(b)).find((m) => m.msgId === sent.body.msgId);
    expect(seen).toMatchObject({ from: a.uid, to: b.uid, type: 'image', mediaId: id });

    // c may not send it on: c never received it.
    const stolen = await host.post('sendmediamsg', { to: d.uid, type: 'image', mediaId: id, clientMsgId: cmid() }, { token: c.token });
    expect(stolen.status).toBe(404);
    expect(stolen.body.error.code).toBe('NO_SUCH_MEDIA');
    expect(await canRead(d, id)).toBe(404);

    // b forwards it without uploading; now c may read it.
    const fwd = await host.post('sendmediamsg', { to: c.uid, type: 'image', mediaId: id, clientMsgId: cmid() }, { token: b.token });
    expect(fwd.status, fwd.text).toBe(200);
    expect((await getMedia(host, id, c.token)).bytes.equals(img)).toBe(true);
    expect(await canRead(e, id)).toBe(404);
  });

  it('nobody sends a mediaId that was never uploaded', async () => {
    const ghost = 'ab'.repeat(32);
    const r = await host.post('sendmediamsg', { to: b.uid, type: 'image', mediaId: ghost, clientMsgId: cmid() }, { token: a.token });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('NO_SUCH_MEDIA');
    const v = await host.post(
      'sendmsg',
      { to: b.uid, type: 'voice', mediaId: ghost, durationMs: 1000, clientMsgId: cmid() },
      { token: a.token },
    );
    expect(v.status).toBe(404);
    expect(v.body.error.code).toBe('NO_SUCH_MEDIA');
  });

  it('a path-like mediaId in a message is refused as input', async () => {
    const r = await host.post(
      'sendmediamsg',
      { to: b.uid, type: 'image', mediaId: '../../etc/passwd', clientMsgId: cmid() },
      { token: a.token },
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_INPUT');
  });
});

describe('MEDIA_KIND_MISMATCH', () => {
  it('sendmediamsg video with an image, image with a video, image with a voice clip: 400', async () => {
    const image = await uploadAs(a, gif(), 'image/gif');
    const video = await uploadAs(a, mp4(), 'video/mp4');
    const voice = await uploadAs(a, amr(), 'audio/amr');
    for (const [type, mediaId] of [
      ['video', image],
      ['image', video],
      ['image', voice],
      ['video', voice],
    ] as const) {
      const r = await host.post('sendmediamsg', { to: b.uid, type, mediaId, clientMsgId: cmid() }, { token: a.token });
      expect(r.status, `${type} with ${mediaId}`).toBe(400);
      expect(r.body.error.code).toBe('MEDIA_KIND_MISMATCH');
    }
    // Nothing was sent, so b still may not read any of them.
    for (const id of [image, video, voice]) expect(await canRead(b, id)).toBe(404);
  });

  it('sendmsg voice with an image or a video: 400', async () => {
    const image = await uploadAs(a, webp(), 'image/webp');
    const video = await uploadAs(a, mp4(), 'video/mp4');
    for (const mediaId of [image, video]) {
      const r = await host.post(
        'sendmsg',
        { to: b.uid, type: 'voice', mediaId, durationMs: 1200, clientMsgId: cmid() },
        { token: a.token },
      );
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('MEDIA_KIND_MISMATCH');
    }
  });

  it('sendmediamsg does not take voice; sendmsg does not take image', async () => {
    const voice = await uploadAs(a, ogg(), 'audio/ogg');
    const r = await host.post('sendmediamsg', { to: b.uid, type: 'voice', mediaId: voice, clientMsgId: cmid() }, { token: a.token });
    expect(r.status).toBe(400);
    const s = await host.post('sendmsg', { to: b.uid, type: 'image', mediaId: voice, clientMsgId: cmid() }, { token: a.token });
    expect(s.status).toBe(400);
  });
});

describe('voice messages', () => {
  it('arrive in sync with mediaId and durationMs, and the recipient may play them', async () => {
    const clip = ogg(4096);
    const id = await uploadAs(a, clip, 'audio/ogg');
    const clientMsgId = cmid();
    const sent = await host.post('sendmsg', { to: b.uid, type: 'voice', mediaId: id, durationMs: 1200, clientMsgId }, { token: a.token });
    expect(sent.status, sent.text).toBe(200);
    const forB = (await inbox(b)).find((m) => m.msgId === sent.body.msgId);
    expect(forB).toEqual({
      seq: expect.any(Number),
      msgId: sent.body.msgId,
      from: a.uid,
      to: b.uid,
      type: 'voice',
      mediaId: id,
      durationMs: 1200,
      createdAt: sent.body.createdAt,
    });
    const forA = (await inbox(a)).find((m) => m.msgId === sent.body.msgId);
    expect(forA).toMatchObject({ type: 'voice', mediaId: id, durationMs: 1200, clientMsgId, seq: sent.body.seq });
    const got = await getMedia(host, id, b.token);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('audio/ogg');
    expect(got.bytes.equals(clip)).toBe(true);
  });

  it('the same clientMsgId and payload gets the first answer again', async () => {
    const id = await uploadAs(a, amr(3), 'audio/amr');
    const body = { to: b.uid, type: 'voice', mediaId: id, durationMs: 60, clientMsgId: cmid() };
    const first = await host.post('sendmsg', body, { token: a.token });
    const again = await host.post('sendmsg', body, { token: a.token });
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const conflict = await host.post('sendmsg', { ...body, durationMs: 61 }, { token: a.token });
    expect(conflict.status).toBe(409);
  });

  it('needs durationMs in 1..60000', async () => {
    const id = await uploadAs(a, amr(4), 'audio/amr');
    for (const durationMs of [undefined, 0, 60_001]) {
      const r = await host.post('sendmsg', { to: b.uid, type: 'voice', mediaId: id, durationMs, clientMsgId: cmid() }, { token: a.token });
      expect(r.status, String(durationMs)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_INPUT');
    }
  });
});

describe('group media', () => {
  it('an image sent to a group reaches every member, and every member may read it; outsiders may not', async () => {
    const g = await host.post('creategroup', { name: 'pics', members: [b.uid, c.uid, d.uid] }, { token: a.token });
    expect(g.status, g.text).toBe(200);
    const groupId = g.body.groupId;
    const video = mp4(20_000);
    const id = await uploadAs(a, video, 'video/mp4');
    const sent = await host.post('sendmediamsg', { groupId, type: 'video', mediaId: id, clientMsgId: cmid() }, { token: a.token });
    expect(sent.status, sent.text).toBe(200);
    for (const m of [b, c, d]) {
      const entry = await waitFor(async () => (await inbox(m)).find((x) => x.msgId === sent.body.msgId), 5_000);
      expect(entry).toMatchObject({ from: a.uid, groupId, type: 'video', mediaId: id });
      const got = await getMedia(host, id, m.token);
      expect(got.status).toBe(200);
      expect(got.bytes.equals(video)).toBe(true);
    }
    expect(await canRead(e, id)).toBe(404);

    // A member added later did not receive that message, so may not read its media.
    const add = await host.post('addgroupmember', { groupId, members: [e.uid] }, { token: b.token });
    expect(add.status, add.text).toBe(200);
    expect(await canRead(e, id)).toBe(404);

    // Another member sends it to the group again: e receives that message, so now may read it.
    const again = await host.post('sendmediamsg', { groupId, type: 'video', mediaId: id, clientMsgId: cmid() }, { token: c.token });
    expect(again.status, again.text).toBe(200);
    await waitFor(async () => (await canRead(e, id)) === 200, 5_000);
  });

  it('a non-member may not send media to the group', async () => {
    const g = await host.post('creategroup', { name: 'closed', members: [b.uid] }, { token: a.token });
    const id = await uploadAs(e, png(), 'image/png');
    const r = await host.post(
      'sendmediamsg',
      { groupId: g.body.groupId, type: 'image', mediaId: id, clientMsgId: cmid() },
      { token: e.token },
    );
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('NOT_GROUP_MEMBER');
  });
});
