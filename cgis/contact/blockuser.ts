import { defineCgi, z } from 'cgihost';
import { PeerInputSchema } from '../_shared/schemas.ts';

/** While blocked, `uid`'s 1:1 messages and contact requests to the caller get 403 BLOCKED; group messages are not affected. */
export default defineCgi({
  apiVersion: 1,
  input: PeerInputSchema,
  output: z.object({}),
  handler: (input, ctx) => ctx.store.blockUser({ uid: ctx.uid!, peer: input.uid }),
});
