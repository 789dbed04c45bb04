import { defineCgi, z } from 'cgihost';
import { ClientMsgIdSchema, exactlyOneTarget, MediaIdSchema, SendResultSchema, TargetFields } from '../_shared/schemas.ts';

/** Image and video messages: `mediaId` of an upload the sender may read, of the matching kind. */
export default defineCgi({
  apiVersion: 1,
  input: z
    .object({ ...TargetFields, type: z.enum(['image', 'video']), mediaId: MediaIdSchema, clientMsgId: ClientMsgIdSchema })
    .superRefine(exactlyOneTarget),
  output: SendResultSchema,
  handler: (input, ctx) => ctx.store.sendMessage({ ...input, from: ctx.uid! }),
});
