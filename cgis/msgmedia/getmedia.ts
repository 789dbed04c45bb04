import { defineCgi, z } from 'cgihost';
import { mediaResponse } from '../_shared/media-response.ts';

/**
 * GET /cgi-bin/getmedia?mediaId=…: the bytes with their Content-Type, an ETag
 * and single-range support, for the uploader and for users who received a
 * message referencing the media; 404 NO_SUCH_MEDIA for anyone else.
 */
export default defineCgi({
  apiVersion: 1,
  method: 'GET',
  timeoutMs: 120_000,
  input: z.object({ mediaId: z.string().max(256) }),
  output: z.never(),
  async handler(input, ctx) {
    // The store refuses anything that is not a 64-hex id before it touches the disk.
    const media = await ctx.store.openMedia({ uid: ctx.uid!, mediaId: input.mediaId });
    return mediaResponse(media, ctx);
  },
});
