import { defineCgi, z } from 'cgihost';
import { PeerInputSchema } from '../_shared/schemas.ts';

/** Drops `uid`'s waiting request (they are not told). */
export default defineCgi({
  apiVersion: 1,
  input: PeerInputSchema,
  output: z.object({}),
  handler: (input, ctx) => ctx.store.declineContact({ uid: ctx.uid!, peer: input.uid }),
});
