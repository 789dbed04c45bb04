/**
 * Profiles over the real host (SPEC §6 Profiles): setprofile, getprofiles,
 * finduser, their input rules, and avatars readable by every signed-in user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost, expectError, newUsers, type User } from '../helpers/index.js';
import { amr, jpeg, png, sha256 } from '../media/files.js';
import { getMedia, upload } from '../media/support.js';
import { call, CGIS_DIR, ok } from './support.js';

let h: RunningHost;
let u: User[];
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: { watch: false } });
});
beforeAll(async () => {
  u = await newUsers(h, 5, 'pf');
});
afterAll(async () => {
  await h?.stop();
});

describe('setprofile', () => {
  it('shows the username as displayName until one is set, then the trimmed name; answers the caller profile', async () => {
    const [a] = u as [User];
    expect(await ok(h, a, 'getprofiles', { uids: [a.uid] })).toEqual({
      profiles: [{ uid: a.uid, username: a.username, displayName: a.username }],
    });
    expect(await ok(h, a, 'setprofile', { displayName: '  Alice 🌸 ' })).toEqual({
      uid: a.uid,
      username: a.username,
      displayName: 'Alice 🌸',
    });
    expect(await ok(h, a, 'setprofile', {})).toEqual({ uid: a.uid, username: a.username, displayName: 'Alice 🌸' });
    // 64 code points (128 UTF-16 units) are fine.
    const long = '😀'.repeat(64);
    expect(await ok(h, a, 'setprofile', { displayName: long })).toMatchObject({ displayName: long });
  });

  it('refuses a display name that is empty, blank, over 64 code points, not well-formed or not a string (400), keeping the old one', async () => {
    const [, b] = u as [User, User];
    await ok(h, b, 'setprofile', { displayName: 'Bob' });
    for (const displayName of ['', '   ', 'x'.repeat(65), '😀'.repeat(65), '\ud800x', 'a\u0000b', '\u202eevil', 7, null]) {
      expectError(await call(h, b, 'setprofile', { displayName }), 400, 'INVALID_INPUT');
    }
    expect((await ok<{ profiles: Array<{ displayName: string }> }>(h, b, 'getprofiles', { uids: [b.uid] })).profiles[0]!.displayName).toBe(
      'Bob',
    );
  });

  it('sets an avatar that every signed-in user may download, and removes it with null', async () => {
    const [a, b, c] = u as [User, User, User];
    const bytes = png();
    const up = await upload(h, bytes, 'image/png', a.token);
    expect(up.status, up.text).toBe(200);
    const mediaId = sha256(bytes);
    // Before it is an avatar, only the uploader may read it.
    expect((await getMedia(h, mediaId, b.token)).status).toBe(404);
    expect(await ok(h, a, 'setprofile', { avatarMediaId: mediaId })).toMatchObject({ uid: a.uid, avatarMediaId: mediaId });
    for (const who of [b, c]) {
      const d = await getMedia(h, mediaId, who.token);
      expect(d.status).toBe(200);
      expect(d.bytes.equals(bytes)).toBe(true);
      expect(d.headers.get('content-type')).toBe('image/png');
    }
    // Signed-in users only.
    expect((await getMedia(h, mediaId)).status).toBe(401);
    expect(
      (await ok<{ profiles: Array<{ avatarMediaId?: string }> }>(h, c, 'getprofiles', { uids: [a.uid] })).profiles[0]!.avatarMediaId,
    ).toBe(mediaId);
    const cleared = await ok<Record<string, unknown>>(h, a, 'setprofile', { avatarMediaId: null });
    expect(cleared).not.toHaveProperty('avatarMediaId');
    expect((await getMedia(h, mediaId, b.token)).status).toBe(404);
    expect((await getMedia(h, mediaId, a.token)).status).toBe(200);
  });

  it('takes as avatar only an image the caller may read: 404 NO_SUCH_MEDIA, 400 MEDIA_KIND_MISMATCH', async () => {
    const [a, b] = u as [User, User];
    // jpeg() holds random bytes: an image no one else uploaded.
    const theirs = jpeg();
    expect((await upload(h, theirs, 'image/jpeg', b.token)).status).toBe(200);
    expectError(await call(h, a, 'setprofile', { avatarMediaId: sha256(theirs) }), 404, 'NO_SUCH_MEDIA');
    expectError(await call(h, a, 'setprofile', { avatarMediaId: 'f'.repeat(64) }), 404, 'NO_SUCH_MEDIA');
    const voice = amr();
    expect((await upload(h, voice, 'audio/amr', a.token)).status).toBe(200);
    expectError(await call(h, a, 'setprofile', { avatarMediaId: sha256(voice) }), 400, 'MEDIA_KIND_MISMATCH');
    expectError(await call(h, a, 'setprofile', { avatarMediaId: 'not-a-sha' }), 400, 'INVALID_INPUT');
    // An image received in a message may be read, so it may become an avatar.
    const got = jpeg();
    expect((await upload(h, got, 'image/jpeg', b.token)).status).toBe(200);
    await ok(h, b, 'sendmediamsg', { to: a.uid, type: 'image', mediaId: sha256(got), clientMsgId: 'avatar-gift' });
    expect(await ok(h, a, 'setprofile', { avatarMediaId: sha256(got) })).toMatchObject({ avatarMediaId: sha256(got) });
  });
});

describe('getprofiles and finduser', () => {
  it('answers known uids in the order asked, each once, leaving out unknown ones', async () => {
    const [a, b, c] = u as [User, User, User];
    const r = await ok<{ profiles: Array<{ uid: string }> }>(h, a, 'getprofiles', {
      uids: [c.uid, 'u0000000000000000', a.uid, c.uid, b.uid],
    });
    expect(r.profiles.map((p) => p.uid)).toEqual([c.uid, a.uid, b.uid]);
    expect(await ok(h, a, 'getprofiles', { uids: ['nobody'] })).toEqual({ profiles: [] });
  });

  it('takes 1 to 100 uids (400 otherwise) and needs a token (401)', async () => {
    const [a] = u as [User];
    expectError(await call(h, a, 'getprofiles', { uids: [] }), 400, 'INVALID_INPUT');
    expectError(await call(h, a, 'getprofiles', { uids: Array.from({ length: 101 }, (_, i) => `u${i}`) }), 400, 'INVALID_INPUT');
    expect((await call(h, a, 'getprofiles', { uids: Array.from({ length: 100 }, () => a.uid) })).status).toBe(200);
    expectError(await call(h, a, 'getprofiles', {}), 400, 'INVALID_INPUT');
    expectError(await h.post('getprofiles', { uids: [a.uid] }), 401, 'UNAUTHENTICATED');
  });

  it('finds one user by username, ignoring case and surrounding spaces; 404 NO_SUCH_USER otherwise', async () => {
    const [a, , , d] = u as [User, User, User, User];
    await ok(h, d, 'setprofile', { displayName: 'Dora' });
    expect(await ok(h, a, 'finduser', { username: d.username })).toEqual({ uid: d.uid, username: d.username, displayName: 'Dora' });
    expect(await ok(h, a, 'finduser', { username: ` ${d.username.toUpperCase()} ` })).toMatchObject({ uid: d.uid });
    expectError(await call(h, a, 'finduser', { username: 'no_such_user_here' }), 404, 'NO_SUCH_USER');
    expectError(await call(h, a, 'finduser', { username: '' }), 400, 'INVALID_INPUT');
    expectError(await h.post('finduser', { username: d.username }), 401, 'UNAUTHENTICATED');
  });
});
