import { defineCgi, z } from 'cgihost';
import { ConversationFields, exactlyOneConversation, SeqSchema } from '../_shared/schemas.ts';

/**
 * Moves the caller's read position in a conversation to `seq` (never back;
 * at most the conversation's lastSeq). The caller's devices get a `read`
 * entry; in a 1:1 chat the peer gets a `receipt`.
 */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ ...ConversationFields, seq: SeqSchema }).superRefine(exactlyOneConversation),
  output: z.object({ readSeq: SeqSchema, unread: z.number().int().min(0) }),
  handler: (input, ctx) => ctx.store.markRead({ uid: ctx.uid!, peer: input.peer, groupId: input.groupId, seq: input.seq }),
});
