import { CgiError, defineCgi, z } from 'cgihost';
import { Audience, CommentIdSchema, PostIdSchema, visiblePost, type Comment } from './_model.ts';

/** POST /cgi-bin/delmomentcomment {postId, commentId} → {deleted: true}: by its writer or the post's author. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ postId: PostIdSchema, commentId: CommentIdSchema }),
  output: z.object({ deleted: z.literal(true) }),
  async handler(input, ctx) {
    const uid = ctx.uid!;
    const post = await visiblePost(ctx, new Audience(ctx), uid, input.postId);
    const key = ['comment', post.postId, input.commentId];
    const c = await ctx.kv.get<Comment>(key);
    if (!c) return { deleted: true as const };
    if (c.value.uid !== uid && post.author !== uid)
      throw new CgiError(403, 'FORBIDDEN', 'only its writer or the moment’s author may delete a comment');
    await ctx.kv.atomic().check(key, c.version).delete(key).sum(['stats', 'comments'], -1).commit();
    return { deleted: true as const };
  },
});
