/**
 * Moments end to end over a real host serving the project's cgis/ (SPEC §8,
 * issue 17): three users who became contacts through the messenger's own
 * CGIs, in a chain A–B, B–C. A posts text and an image; B's timeline has it,
 * with B's like and comment visible to A; C never sees A's post, nor its
 * image, nor B's like on it. Deleting takes it out of every timeline.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startHost, waitFor, type RunningHost } from '../helpers/index.js';
import { newUsers, type User } from '../helpers/index.js';
import { png } from '../media/files.js';

let host: RunningHost;
let A: User, B: User, C: User;

const as = (u: User, name: string, body: unknown) => host.post(name, body, { token: u.token });

async function contacts(x: User, y: User): Promise<void> {
  expect((await as(x, 'addcontact', { uid: y.uid })).body).toEqual({ status: 'requested' });
  expect((await as(y, 'acceptcontact', { uid: x.uid })).body).toEqual({ status: 'added' });
}

const timeline = async (u: User) => {
  const res = await as(u, 'getmoments', {});
  expect(res.status).toBe(200);
  return res.body.moments as Array<{
    postId: string;
    author: string;
    text?: string;
    mediaIds: string[];
    likes: Array<{ uid: string }>;
    comments: Array<{ uid: string; text: string }>;
  }>;
};

beforeAll(async () => {
  host = await startHost({ cgisDir: join(ROOT, 'cgis'), config: { watch: false } });
  [A, B, C] = (await newUsers(host, 3, 'm')) as [User, User, User];
  await contacts(A, B);
  await contacts(B, C);
}, 120_000);

afterAll(async () => {
  await host?.kill();
});

describe('Moments for A–B, B–C', () => {
  let postId: string;
  let mediaId: string;

  it('A posts text and an image of their own', async () => {
    const up = await fetch(`${host.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { authorization: `Bearer ${A.token}`, 'content-type': 'image/png' },
      body: new Uint8Array(png()),
    });
    expect(up.status).toBe(200);
    mediaId = ((await up.json()) as { mediaId: string }).mediaId;
    const res = await as(A, 'postmoment', { text: 'hello, moments', mediaIds: [mediaId] });
    expect(res.status).toBe(200);
    postId = res.body.postId;
  });

  it("B's timeline has it (written by the consumer), and A's own; C's does not", async () => {
    const seen = await waitFor(async () => (await timeline(B)).find((m) => m.postId === postId), 10_000);
    expect(seen).toMatchObject({ author: A.uid, text: 'hello, moments', mediaIds: [mediaId] });
    expect((await timeline(A)).map((m) => m.postId)).toContain(postId);
    expect((await timeline(C)).map((m) => m.postId)).not.toContain(postId);
  });

  it("B likes and comments; A sees both; C can do neither, and sees nothing of A's post", async () => {
    expect((await as(B, 'likemoment', { postId })).body).toEqual({ liked: true });
    expect((await as(B, 'commentmoment', { postId, text: 'lovely' })).status).toBe(200);
    const m = (await as(A, 'getmoment', { postId })).body;
    expect(m.likes.map((l: { uid: string }) => l.uid)).toEqual([B.uid]);
    expect(m.comments.map((x: { uid: string; text: string }) => [x.uid, x.text])).toEqual([[B.uid, 'lovely']]);
    for (const [name, body] of [
      ['getmoment', { postId }],
      ['likemoment', { postId }],
      ['commentmoment', { postId, text: 'me too' }],
    ] as const) {
      const res = await as(C, name, body);
      expect([res.status, res.body.error.code], name).toEqual([404, 'NO_SUCH_MOMENT']);
    }
    const img = await fetch(`${host.url}/cgi-bin/getmomentmedia?postId=${postId}&mediaId=${mediaId}`, {
      headers: { authorization: `Bearer ${C.token}` },
    });
    expect(img.status).toBe(404);
    const forB = await fetch(`${host.url}/cgi-bin/getmomentmedia?postId=${postId}&mediaId=${mediaId}`, {
      headers: { authorization: `Bearer ${B.token}` },
    });
    expect(forB.status).toBe(200);
    expect(Buffer.from(await forB.arrayBuffer())).toEqual(png());
  });

  it("B's post reaches A and C; C's comment on it is seen by A, B's contact", async () => {
    const { postId: bPost } = (await as(B, 'postmoment', { text: 'from the middle' })).body;
    for (const u of [A, C]) await waitFor(async () => (await timeline(u)).some((m) => m.postId === bPost), 10_000);
    await as(C, 'commentmoment', { postId: bPost, text: 'hi B' });
    const m = (await as(A, 'getmoment', { postId: bPost })).body;
    expect(m.comments.map((x: { text: string }) => x.text)).toEqual(['hi B']);
    // Still nothing of A's for C.
    expect((await timeline(C)).some((x) => x.author === A.uid)).toBe(false);
  });

  it('A deletes the post: gone from every timeline', async () => {
    expect((await as(A, 'delmoment', { postId })).body).toEqual({ deleted: true });
    await waitFor(async () => !(await timeline(B)).some((m) => m.postId === postId), 10_000);
    expect((await timeline(A)).some((m) => m.postId === postId)).toBe(false);
    expect((await as(B, 'getmoment', { postId })).status).toBe(404);
  });

  it('the admin API shows the fan-out topic with its consumer, and the business metrics', async () => {
    const topics = (await host.get('/_host/api/queue')).body.topics;
    expect(topics.find((t: { topic: string }) => t.topic === 'moments.fanout')).toMatchObject({
      consumer: { name: 'moments_fanout', group: 'moments', state: 'ready' },
      deadLetters: 0,
    });
    const biz = (await host.get('/_host/api/biz')).body.metrics;
    expect(biz.find((m: { group: string; name: string }) => m.group === 'moments' && m.name === 'posts')).toBeTruthy();
    const sched = (await host.get('/_host/api/schedules')).body.schedules;
    expect(sched.find((s: { name: string }) => s.name === 'moments_stats')).toMatchObject({ cron: '*/10 * * * *', state: 'ready' });
  });
});
