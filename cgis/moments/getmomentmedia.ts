import { CgiError, defineCgi, z } from 'cgihost';
import { mediaResponse } from '../_shared/media-response.ts';
import { Audience, PostIdSchema, visiblePost } from './_model.ts';

/**
 * GET /cgi-bin/getmomentmedia?postId=…&mediaId=…: an image of a moment, for
 * anyone who may see the moment (ETag, ranges, as getmedia). The poster's own
 * right to the image is what the read goes through.
 */
export default defineCgi({
  apiVersion: 1,
  method: 'GET',
  timeoutMs: 60_000,
  input: z.object({ postId: PostIdSchema, mediaId: z.string().max(256) }),
  output: z.never(),
  async handler(input, ctx) {
    const post = await visiblePost(ctx, new Audience(ctx), ctx.uid!, input.postId);
    if (!post.mediaIds.includes(input.mediaId)) throw new CgiError(404, 'NO_SUCH_MEDIA', 'no such media in this moment');
    return mediaResponse(await ctx.store.openMedia({ uid: post.author, mediaId: input.mediaId }), ctx);
  },
});
