import { defineCgi, z } from 'cgihost';
import { ConversationFields, exactlyOneConversation, SyncMessageSchema } from '../_shared/schemas.ts';

/** A conversation's entries in the caller's inbox with seq < beforeSeq, newest first; `more` when older ones remain. */
export default defineCgi({
  apiVersion: 1,
  input: z
    .object({
      ...ConversationFields,
      beforeSeq: z.number().int().min(1).optional(),
      limit: z.number().int().min(1).max(200).default(50),
    })
    .superRefine(exactlyOneConversation),
  output: z.object({ messages: z.array(SyncMessageSchema), more: z.boolean() }),
  handler: (input, ctx) => ctx.store.getHistory({ uid: ctx.uid!, ...input }),
});
