import { defineCgi, z } from 'cgihost';
import { PeerInputSchema } from '../_shared/schemas.ts';

/** Accepts `uid`'s request: both become contacts and both get `contact_added`. Repeating it writes nothing. */
export default defineCgi({
  apiVersion: 1,
  input: PeerInputSchema,
  output: z.object({ status: z.literal('added') }),
  handler: (input, ctx) => ctx.store.acceptContact({ uid: ctx.uid!, peer: input.uid }),
});
