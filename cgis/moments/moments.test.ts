/**
 * Moments, tested the way a CGI author tests: cgihost/testing, real workers
 * and a real store, no server. Three users who are contacts in a chain, A–B
 * and B–C: B sees both, A and C never see each other's posts.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlatform, type LoadedCgi, type TestPlatform } from 'cgihost/testing';

let t: TestPlatform;
let a: string, b: string, c: string;
const cgi: Record<string, LoadedCgi> = {};
const here = (f: string) => new URL(`./${f}`, import.meta.url);

/** A user with a store record (no password: these tests call the CGIs as them). */
async function user(name: string): Promise<string> {
  return (await t.store.createUser({ username: name, passwordHash: 'x' })).uid;
}

/** The messenger's contact operations of ctx.store (SPEC §6). */
interface ContactOps {
  addContact(a: { uid: string; peer: string }): Promise<unknown>;
  acceptContact(a: { uid: string; peer: string }): Promise<unknown>;
  deleteContact(a: { uid: string; peer: string }): Promise<unknown>;
}
const contactOps = () => t.store as unknown as ContactOps;

async function contacts(x: string, y: string): Promise<void> {
  await contactOps().addContact({ uid: x, peer: y });
  await contactOps().acceptContact({ uid: y, peer: x });
}

/** An image uploaded by `uploader` (a real PNG header, so its kind is image). */
async function image(uploader: string, seed: string, kind: 'image' | 'voice' = 'image'): Promise<string> {
  const bytes = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(seed)]);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const tempPath = join(t.dataDir, `${seed}.upload`);
  writeFileSync(tempPath, bytes);
  const contentType = kind === 'image' ? 'image/png' : 'audio/ogg';
  return (await t.store.putMedia({ uploader, tempPath, sha256, kind, contentType, size: bytes.length })).mediaId;
}

const timeline = async (uid: string, body: Record<string, unknown> = {}) => {
  const res = await cgi.getmoments!.call(body, { uid });
  expect(res.status).toBe(200);
  return res.body as {
    moments: Array<{ postId: string; author: string; text?: string; likes: unknown[]; comments: unknown[] }>;
    cursor?: string;
  };
};

beforeAll(async () => {
  t = await testPlatform();
  for (const name of [
    'postmoment',
    'getmoments',
    'getmoment',
    'likemoment',
    'commentmoment',
    'delmoment',
    'delmomentcomment',
    'getmomentmedia',
  ]) {
    cgi[name] = await t.loadCgi(here(`${name}.ts`));
  }
  await t.loadConsumer(here('moments_fanout.ts'));
  [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
  await contacts(a, b);
  await contacts(b, c);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('posting and the timeline', () => {
  it("a post reaches the author's and their contacts' timelines, not anyone else's", async () => {
    const res = await cgi.postmoment!.call({ text: 'hello from A' }, { uid: a });
    expect(res.status).toBe(200);
    const { postId } = res.body;
    await t.queueIdle();
    expect((await timeline(a)).moments.map((m) => m.postId)).toEqual([postId]);
    expect((await timeline(b)).moments.map((m) => m.postId)).toEqual([postId]);
    expect((await timeline(c)).moments).toEqual([]);
    const direct = await cgi.getmoment!.call({ postId }, { uid: c });
    expect([direct.status, direct.body.error.code]).toEqual([404, 'NO_SUCH_MOMENT']);
  });

  it('B sees both neighbours, newest first; A and C each see B', async () => {
    await cgi.postmoment!.call({ text: 'hello from C' }, { uid: c });
    await cgi.postmoment!.call({ text: 'hello from B' }, { uid: b });
    await t.queueIdle();
    expect((await timeline(b)).moments.map((m) => m.text)).toEqual(['hello from B', 'hello from C', 'hello from A']);
    expect((await timeline(a)).moments.map((m) => m.text)).toEqual(['hello from B', 'hello from A']);
    expect((await timeline(c)).moments.map((m) => m.text)).toEqual(['hello from B', 'hello from C']);
  });

  it('pages newest first with a cursor', async () => {
    for (let i = 0; i < 12; i++) await cgi.postmoment!.call({ text: `page ${i}` }, { uid: a });
    await t.queueIdle();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await timeline(b, { limit: 5, cursor });
      expect(page.moments.length).toBeLessThanOrEqual(5);
      seen.push(...page.moments.map((m) => m.text!));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.slice(0, 12)).toEqual(Array.from({ length: 12 }, (_, i) => `page ${11 - i}`));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a retry with the same clientPostId answers the same post and writes nothing twice', async () => {
    const first = await cgi.postmoment!.call({ text: 'once', clientPostId: 'retry-1' }, { uid: c });
    const again = await cgi.postmoment!.call({ text: 'once', clientPostId: 'retry-1' }, { uid: c });
    expect(again.body).toEqual(first.body);
    await t.queueIdle();
    expect((await timeline(c)).moments.filter((m) => m.text === 'once')).toHaveLength(1);
  });

  it('refuses an empty post, a tenth image, and text over 2000 characters', async () => {
    for (const body of [{}, { text: '   ' }, { mediaIds: Array(10).fill('a'.repeat(64)) }, { text: 'x'.repeat(2001) }]) {
      const res = await cgi.postmoment!.call(body, { uid: a });
      expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_INPUT']);
    }
  });
});

describe('images', () => {
  it('up to nine of the poster’s own images; others’ or non-images are refused; viewers may download them', async () => {
    const mine = [await image(a, 'one'), await image(a, 'two')];
    const res = await cgi.postmoment!.call({ text: 'pics', mediaIds: mine }, { uid: a });
    expect(res.status).toBe(200);
    const theirs = await image(c, 'carols');
    const stolen = await cgi.postmoment!.call({ mediaIds: [theirs] }, { uid: a });
    expect([stolen.status, stolen.body.error.code]).toEqual([404, 'NO_SUCH_MEDIA']);
    const voice = await image(a, 'voice', 'voice');
    const wrong = await cgi.postmoment!.call({ mediaIds: [voice] }, { uid: a });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'MEDIA_KIND_MISMATCH']);
    await t.queueIdle();
    const get = (uid: string, mediaId: string) => cgi.getmomentmedia!.call({ postId: res.body.postId, mediaId }, { uid });
    expect((await get(b, mine[0]!)).status).toBe(200);
    expect((await get(b, mine[1]!)).headers['content-type']).toBe('image/png');
    expect((await get(c, mine[0]!)).status).toBe(404);
    expect((await get(b, theirs)).status).toBe(404);
  });
});

describe('likes and comments', () => {
  let postId: string;
  beforeAll(async () => {
    postId = (await cgi.postmoment!.call({ text: 'like me' }, { uid: a })).body.postId;
    await t.queueIdle();
  });

  it('the author’s contacts like and comment; everyone who sees the post sees them', async () => {
    expect((await cgi.likemoment!.call({ postId }, { uid: b })).body).toEqual({ liked: true });
    expect((await cgi.likemoment!.call({ postId }, { uid: b })).body).toEqual({ liked: true });
    const comment = await cgi.commentmoment!.call({ postId, text: 'nice' }, { uid: b });
    expect(comment.status).toBe(200);
    const reply = await cgi.commentmoment!.call({ postId, text: 'thanks', replyTo: b }, { uid: a });
    expect(reply.status).toBe(200);
    const seenByA = (await cgi.getmoment!.call({ postId }, { uid: a })).body;
    expect(seenByA.likes.map((l: { uid: string }) => l.uid)).toEqual([b]);
    expect(seenByA.likedByMe).toBe(false);
    expect(seenByA.comments.map((x: { text: string; uid: string }) => [x.uid, x.text])).toEqual([
      [b, 'nice'],
      [a, 'thanks'],
    ]);
    const seenByB = (await cgi.getmoment!.call({ postId }, { uid: b })).body;
    expect(seenByB.likedByMe).toBe(true);
    expect(seenByB.comments).toEqual(seenByA.comments);
  });

  it('someone who is not the author’s contact can neither see, like nor comment', async () => {
    for (const [name, body] of [
      ['likemoment', { postId }],
      ['commentmoment', { postId, text: 'sneaky' }],
      ['getmoment', { postId }],
    ] as const) {
      const res = await cgi[name]!.call(body, { uid: c });
      expect([res.status, res.body.error.code], name).toEqual([404, 'NO_SUCH_MOMENT']);
    }
    // C's friend B liked A's post: C sees nothing of it (not even through B's timeline).
    expect(JSON.stringify(await timeline(c))).not.toContain(postId);
  });

  it('unlike; a comment is deleted by its writer or the author, by no one else', async () => {
    expect((await cgi.likemoment!.call({ postId, like: false }, { uid: b })).body).toEqual({ liked: false });
    const { commentId } = (await cgi.commentmoment!.call({ postId, text: 'to delete' }, { uid: b })).body;
    const other = (await cgi.commentmoment!.call({ postId, text: 'B’s, deleted by A' }, { uid: b })).body;
    expect((await cgi.delmomentcomment!.call({ postId, commentId }, { uid: b })).status).toBe(200);
    expect((await cgi.delmomentcomment!.call({ postId, commentId: other.commentId }, { uid: a })).status).toBe(200);
    const m = (await cgi.getmoment!.call({ postId }, { uid: a })).body;
    expect(m.likes).toEqual([]);
    expect(m.comments.map((x: { text: string }) => x.text)).toEqual(['nice', 'thanks']);
    const aComment = m.comments.find((x: { text: string }) => x.text === 'thanks').commentId;
    const refused = await cgi.delmomentcomment!.call({ postId, commentId: aComment }, { uid: b });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('deleting, and contacts that change', () => {
  it('the author deletes a post: gone from every timeline, with its likes and comments', async () => {
    const { postId } = (await cgi.postmoment!.call({ text: 'short-lived' }, { uid: b })).body;
    await t.queueIdle();
    await cgi.likemoment!.call({ postId }, { uid: a });
    await cgi.commentmoment!.call({ postId, text: 'bye' }, { uid: c });
    const forbidden = await cgi.delmoment!.call({ postId }, { uid: a });
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await cgi.delmoment!.call({ postId }, { uid: b })).body).toEqual({ deleted: true });
    expect((await cgi.delmoment!.call({ postId }, { uid: b })).body).toEqual({ deleted: true });
    await t.queueIdle();
    for (const uid of [a, b, c]) expect(JSON.stringify(await timeline(uid))).not.toContain(postId);
    expect((await t.kv('moments').list({ prefix: ['like', postId] })).entries).toEqual([]);
    expect((await t.kv('moments').list({ prefix: ['comment', postId] })).entries).toEqual([]);
    expect((await t.kv('moments').list({ prefix: ['tl', c] })).entries.some((e) => e.key[3] === postId)).toBe(false);
  });

  it('a contact the author removes no longer sees the author’s posts, old or new', async () => {
    const before = (await timeline(b)).moments.filter((m) => m.author === a).length;
    expect(before).toBeGreaterThan(0);
    await contactOps().deleteContact({ uid: a, peer: b });
    await cgi.postmoment!.call({ text: 'after the split' }, { uid: a });
    await t.queueIdle();
    expect((await timeline(b)).moments.filter((m) => m.author === a)).toEqual([]);
    // A still sees B's posts: B still lists A.
    expect((await timeline(a)).moments.some((m) => m.author === b)).toBe(true);
  });
});
