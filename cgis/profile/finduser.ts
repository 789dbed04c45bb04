import { defineCgi, z } from 'cgihost';
import { ProfileSchema } from '../_shared/schemas.ts';

/** One user by username (case and surrounding spaces ignored), or 404 NO_SUCH_USER. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ username: z.string().min(1).max(64) }),
  output: ProfileSchema,
  handler: (input, ctx) => ctx.store.findUser({ username: input.username }),
});
