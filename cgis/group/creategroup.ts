import { defineCgi, z } from 'cgihost';
import { codePoints, MembersSchema } from '../_shared/schemas.ts';

export default defineCgi({
  apiVersion: 1,
  input: z.object({
    name: z
      .string()
      .refine((n) => codePoints(n.trim()) >= 1 && codePoints(n) <= 64, 'name is 1–64 characters')
      .refine((n) => n.isWellFormed(), 'name is not well-formed Unicode'),
    members: MembersSchema,
  }),
  output: z.object({ groupId: z.string(), members: z.array(z.string()) }),
  handler: (input, ctx) => ctx.store.createGroup({ owner: ctx.uid!, name: input.name, members: input.members }),
});
