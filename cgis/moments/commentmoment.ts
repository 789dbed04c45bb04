import { CgiError, defineCgi, z } from 'cgihost';
import { Audience, CommentIdSchema, MAX_COMMENT, newCommentId, PostIdSchema, visiblePost, type Comment } from './_model.ts';

/** POST /cgi-bin/commentmoment {postId, text, replyTo?} → {commentId, createdAt}; replyTo is a uid the comment answers. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({
    postId: PostIdSchema,
    text: z
      .string()
      .min(1)
      .max(MAX_COMMENT * 2)
      .refine((t) => [...t].length <= MAX_COMMENT && t.trim() !== '', `a comment is 1 to ${MAX_COMMENT} characters`),
    replyTo: z.string().min(1).max(64).optional(),
  }),
  output: z.object({ commentId: CommentIdSchema, createdAt: z.number() }),
  async handler(input, ctx) {
    const uid = ctx.uid!;
    const audience = new Audience(ctx);
    const post = await visiblePost(ctx, audience, uid, input.postId);
    // One answers someone the post's audience includes.
    if (input.replyTo !== undefined && !(await audience.canSee(input.replyTo, post.author))) {
      throw new CgiError(400, 'INVALID_INPUT', 'replyTo is not someone who can see this moment');
    }
    const createdAt = Date.now();
    const comment: Comment = { commentId: newCommentId(createdAt), uid, text: input.text, createdAt };
    if (input.replyTo !== undefined) comment.replyTo = input.replyTo;
    await ctx.kv.atomic().set(['comment', post.postId, comment.commentId], comment).sum(['stats', 'comments'], 1).commit();
    ctx.metrics.counter('comments').inc();
    return { commentId: comment.commentId, createdAt };
  },
});
