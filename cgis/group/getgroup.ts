import { defineCgi, z } from 'cgihost';
import { IdSchema } from '../_shared/schemas.ts';

/** Members only. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ groupId: IdSchema }),
  output: z.object({ groupId: z.string(), name: z.string(), owner: z.string(), members: z.array(z.string()), createdAt: z.number().int() }),
  handler: (input, ctx) => ctx.store.getGroup({ uid: ctx.uid!, groupId: input.groupId }),
});
