import { defineCgi, z } from 'cgihost';
import { Audience, momentOf, MomentSchema, PostIdSchema, visiblePost } from './_model.ts';

/** POST /cgi-bin/getmoment {postId} → the moment, as the caller may see it; 404 NO_SUCH_MOMENT for anyone who may not. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ postId: PostIdSchema }),
  output: MomentSchema,
  async handler(input, ctx) {
    const post = await visiblePost(ctx, new Audience(ctx), ctx.uid!, input.postId);
    return momentOf(ctx, post, ctx.uid!);
  },
});
