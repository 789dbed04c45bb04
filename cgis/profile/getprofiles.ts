import { defineCgi, z } from 'cgihost';
import { IdSchema, ProfileSchema } from '../_shared/schemas.ts';

/** Profiles of 1–100 uids, in the order asked (each once); unknown uids are left out. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ uids: z.array(IdSchema).min(1).max(100) }),
  output: z.object({ profiles: z.array(ProfileSchema) }),
  handler: (input, ctx) => ctx.store.getProfiles({ uids: input.uids }),
});
