import { defineCgi, z } from 'cgihost';
import { IdSchema, MembersSchema } from '../_shared/schemas.ts';

/** The owner may remove anyone; anyone may remove themselves. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ groupId: IdSchema, members: MembersSchema.min(1) }),
  output: z.object({ members: z.array(z.string()) }),
  handler: (input, ctx) => ctx.store.removeGroupMembers({ by: ctx.uid!, ...input }),
});
