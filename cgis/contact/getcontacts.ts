import { defineCgi, z } from 'cgihost';
import { ProfileSchema } from '../_shared/schemas.ts';

/** The caller's contacts (profile and since), waiting requests both ways, and whom the caller blocks. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({}),
  output: z.object({
    contacts: z.array(ProfileSchema.extend({ since: z.number().int() })),
    incoming: z.array(z.object({ uid: z.string(), greeting: z.string().optional(), at: z.number().int() })),
    outgoing: z.array(z.object({ uid: z.string(), at: z.number().int() })),
    blocked: z.array(z.string()),
  }),
  handler: (_input, ctx) => ctx.store.getContacts({ uid: ctx.uid! }),
});
