import { defineCgi, z } from 'cgihost';
import { PeerInputSchema } from '../_shared/schemas.ts';

export default defineCgi({
  apiVersion: 1,
  input: PeerInputSchema,
  output: z.object({}),
  handler: (input, ctx) => ctx.store.unblockUser({ uid: ctx.uid!, peer: input.uid }),
});
