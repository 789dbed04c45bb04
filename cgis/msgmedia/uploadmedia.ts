import { open } from 'node:fs/promises';
import { CgiError, defineCgi, z } from 'cgihost';
import { MEDIA_TYPES, UPLOAD_LIMITS } from '../_shared/media-types.ts';

/**
 * The raw file is the body, with its Content-Type. The host streams it to a
 * temp file (hashing it on the way) and enforces the per-type size limit; this
 * CGI checks the bytes really are that type, then files them by SHA-256.
 */
export default defineCgi({
  apiVersion: 1,
  body: { kind: 'raw', types: UPLOAD_LIMITS },
  timeoutMs: 60_000,
  input: z.object({}),
  output: z.object({ mediaId: z.string(), kind: z.enum(['image', 'voice', 'video']), contentType: z.string(), size: z.number().int() }),
  async handler(_input, ctx) {
    const { contentType, path, sha256, size } = ctx.body;
    const type = MEDIA_TYPES[contentType]!;
    // Enough for every signature, WebM's DocType included.
    const head = Buffer.alloc(64);
    const fh = await open(path, 'r');
    try {
      await fh.read(head, 0, 64, 0);
    } finally {
      await fh.close();
    }
    if (size === 0 || !type.magic(head)) {
      throw new CgiError(415, 'UNSUPPORTED_MEDIA_TYPE', `the bytes are not ${contentType}`);
    }
    return ctx.store.putMedia({ uploader: ctx.uid!, tempPath: path, sha256, kind: type.kind, contentType, size });
  },
});
