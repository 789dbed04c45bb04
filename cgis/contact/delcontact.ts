import { defineCgi, z } from 'cgihost';
import { PeerInputSchema } from '../_shared/schemas.ts';

/** Removes `uid` from the caller's contact list only. */
export default defineCgi({
  apiVersion: 1,
  input: PeerInputSchema,
  output: z.object({}),
  handler: (input, ctx) => ctx.store.deleteContact({ uid: ctx.uid!, peer: input.uid }),
});
