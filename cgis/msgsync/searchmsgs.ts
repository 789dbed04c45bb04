import { defineCgi, z } from 'cgihost';
import { atMostOneConversation, codePoints, ConversationFields, SyncMessageSchema } from '../_shared/schemas.ts';

/**
 * The caller's text entries containing `query` (case-insensitive for Latin
 * letters; Chinese, Japanese and emoji as substrings), newest first, in one
 * conversation when `peer` or `groupId` is given. Recalled messages are never found.
 */
export default defineCgi({
  apiVersion: 1,
  input: z
    .object({
      query: z
        .string()
        .refine((q) => codePoints(q) >= 1 && codePoints(q) <= 100, 'query is 1–100 characters')
        .refine((q) => q.isWellFormed(), 'query is not well-formed Unicode'),
      ...ConversationFields,
      limit: z.number().int().min(1).max(100).default(20),
    })
    .superRefine(atMostOneConversation),
  output: z.object({ messages: z.array(SyncMessageSchema) }),
  handler: (input, ctx) => ctx.store.searchMessages({ uid: ctx.uid!, ...input }),
});
