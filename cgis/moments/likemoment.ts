import { defineCgi, z } from 'cgihost';
import { Audience, PostIdSchema, visiblePost } from './_model.ts';

/** POST /cgi-bin/likemoment {postId, like?} → {liked}. Liking twice (or unliking twice) is harmless. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ postId: PostIdSchema, like: z.boolean().default(true) }),
  output: z.object({ liked: z.boolean() }),
  async handler(input, ctx) {
    const uid = ctx.uid!;
    await visiblePost(ctx, new Audience(ctx), uid, input.postId);
    const key = ['like', input.postId, uid];
    const current = await ctx.kv.get(key);
    if (input.like === (current !== null)) return { liked: input.like };
    const write = ctx.kv.atomic().check(key, current?.version ?? null);
    if (input.like) write.set(key, { at: Date.now() }).sum(['stats', 'likes'], 1);
    else write.delete(key).sum(['stats', 'likes'], -1);
    // A concurrent like of the same user won the race: the answer is the same.
    if ((await write.commit()).ok && input.like) ctx.metrics.counter('likes').inc();
    return { liked: input.like };
  },
});
