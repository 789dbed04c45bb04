import { CgiError, defineCgi, z } from 'cgihost';
import { GROUP_TOPIC, PostIdSchema, type FanoutJob, type Post } from './_model.ts';

/**
 * POST /cgi-bin/delmoment {postId} → {deleted: true}: the author only. The post
 * and its author's line go at once; the contacts' lines, likes and comments
 * are removed by the fan-out consumer (keyed by post, so after its add).
 * Deleting twice answers the same.
 */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ postId: PostIdSchema }),
  output: z.object({ deleted: z.literal(true) }),
  async handler(input, ctx) {
    const entry = await ctx.kv.get<Post>(['post', input.postId]);
    if (!entry) return { deleted: true as const };
    const post = entry.value;
    if (post.author !== ctx.uid) throw new CgiError(403, 'FORBIDDEN', 'only its author may delete a moment');
    const job: FanoutJob = { op: 'remove', postId: post.postId, author: post.author, createdAt: post.createdAt };
    await ctx.kv
      .atomic()
      .check(['post', post.postId], entry.version)
      .delete(['post', post.postId])
      .delete(['tl', post.author, post.createdAt, post.postId])
      .sum(['stats', 'posts'], -1)
      .enqueue(GROUP_TOPIC, job, { key: post.postId })
      .commit();
    return { deleted: true as const };
  },
});
