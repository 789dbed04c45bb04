import { defineCgi, z } from 'cgihost';
import { ConversationSchema } from '../_shared/schemas.ts';

/** The caller's conversations, newest activity first, each with its last message, read position and unread count. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ limit: z.number().int().min(1).max(500).default(100) }),
  output: z.object({ conversations: z.array(ConversationSchema) }),
  handler: (input, ctx) => ctx.store.getConversations({ uid: ctx.uid!, limit: input.limit }),
});
