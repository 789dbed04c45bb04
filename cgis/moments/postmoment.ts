import { CgiError, defineCgi, z } from 'cgihost';
import { GROUP_TOPIC, MAX_IMAGES, MAX_TEXT, newPostId, type FanoutJob, type Post } from './_model.ts';

const MediaId = z.string().regex(/^[0-9a-f]{64}$/, 'mediaId is a lowercase hex SHA-256');

/**
 * POST /cgi-bin/postmoment {text?, mediaIds?, clientPostId?} → {postId, createdAt}.
 * Text (up to 2000 code points) and up to 9 images, each an uploaded image the
 * poster may read. The post, the poster's own timeline line and the fan-out
 * job to their contacts are one atomic write; a retry with the same
 * clientPostId answers the same post and writes nothing.
 */
export default defineCgi({
  apiVersion: 1,
  input: z
    .object({
      text: z
        .string()
        .max(MAX_TEXT * 2)
        .optional(),
      mediaIds: z.array(MediaId).max(MAX_IMAGES).default([]),
      clientPostId: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/)
        .optional(),
    })
    .refine((p) => (p.text !== undefined && p.text.trim() !== '') || p.mediaIds.length > 0, 'a moment needs text or an image')
    .refine((p) => p.text === undefined || [...p.text].length <= MAX_TEXT, `text is at most ${MAX_TEXT} characters`)
    .refine((p) => new Set(p.mediaIds).size === p.mediaIds.length, 'an image appears twice'),
  output: z.object({ postId: z.string(), createdAt: z.number() }),
  async handler(input, ctx) {
    const uid = ctx.uid!;
    if (input.clientPostId) {
      const earlier = await ctx.kv.get<{ postId: string; createdAt: number }>(['idem', uid, input.clientPostId]);
      if (earlier) return earlier.value;
    }
    // Each image must be one the poster may read (they uploaded it, or received it), and an image.
    for (const media of await Promise.all(input.mediaIds.map((mediaId) => ctx.store.openMedia({ uid, mediaId })))) {
      if (media.kind !== 'image') throw new CgiError(400, 'MEDIA_KIND_MISMATCH', `${media.mediaId} is a ${media.kind}, not an image`);
    }
    const createdAt = Date.now();
    const post: Post = { postId: newPostId(createdAt), author: uid, mediaIds: input.mediaIds, createdAt };
    if (input.text !== undefined && input.text.trim() !== '') post.text = input.text;
    const job: FanoutJob = { op: 'add', postId: post.postId, author: uid, createdAt };
    const write = ctx.kv
      .atomic()
      .set(['post', post.postId], post)
      .set(['tl', uid, createdAt, post.postId], { author: uid })
      .sum(['stats', 'posts'], 1)
      .enqueue(GROUP_TOPIC, job, { key: post.postId });
    if (input.clientPostId)
      write.check(['idem', uid, input.clientPostId], null).set(['idem', uid, input.clientPostId], { postId: post.postId, createdAt });
    const res = await write.commit();
    if (!res.ok) {
      // The same clientPostId, committed meanwhile by a concurrent retry: that one's answer.
      const earlier = await ctx.kv.get<{ postId: string; createdAt: number }>(['idem', uid, input.clientPostId!]);
      if (earlier) return earlier.value;
      throw new Error('the post could not be written');
    }
    ctx.metrics.counter('posts', { media: post.mediaIds.length ? 'images' : 'text' }).inc();
    return { postId: post.postId, createdAt };
  },
});
