import { defineCgi, z } from 'cgihost';
import { ClientMsgIdSchema, codePoints, exactlyOneTarget, MediaIdSchema, SendResultSchema, TargetFields } from '../_shared/schemas.ts';

/** Text and voice messages, 1:1 (`to`) or to a group (`groupId`). Images and video go through sendmediamsg. */
export default defineCgi({
  apiVersion: 1,
  input: z
    .object({
      ...TargetFields,
      type: z.enum(['text', 'voice']),
      content: z.string().optional(),
      mediaId: MediaIdSchema.optional(),
      durationMs: z.number().int().min(1).max(60_000).optional(),
      clientMsgId: ClientMsgIdSchema,
    })
    .superRefine((v, ctx) => {
      exactlyOneTarget(v, ctx);
      if (v.type === 'text') {
        if (v.content === undefined || codePoints(v.content) < 1 || codePoints(v.content) > 4096) {
          ctx.addIssue({ code: 'custom', path: ['content'], message: 'text content is 1–4096 characters' });
        } else if (!v.content.isWellFormed()) {
          // A lone surrogate cannot be stored as UTF-8 unchanged.
          ctx.addIssue({ code: 'custom', path: ['content'], message: 'text content is not well-formed Unicode' });
        }
        if (v.mediaId !== undefined || v.durationMs !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['mediaId'], message: 'a text message takes no mediaId or durationMs' });
        }
      } else {
        if (v.mediaId === undefined)
          ctx.addIssue({ code: 'custom', path: ['mediaId'], message: 'a voice message needs the mediaId of an uploaded voice clip' });
        if (v.durationMs === undefined)
          ctx.addIssue({ code: 'custom', path: ['durationMs'], message: 'a voice message needs durationMs (1–60000)' });
        if (v.content !== undefined) ctx.addIssue({ code: 'custom', path: ['content'], message: 'a voice message takes no content' });
      }
    }),
  output: SendResultSchema,
  handler: (input, ctx) => ctx.store.sendMessage({ ...input, from: ctx.uid! }),
});
