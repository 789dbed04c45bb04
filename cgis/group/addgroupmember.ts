import { defineCgi, z } from 'cgihost';
import { IdSchema, MembersSchema } from '../_shared/schemas.ts';

/** Any member may add members. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ groupId: IdSchema, members: MembersSchema.min(1) }),
  output: z.object({ members: z.array(z.string()) }),
  handler: (input, ctx) => ctx.store.addGroupMembers({ by: ctx.uid!, ...input }),
});
