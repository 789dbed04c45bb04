import { defineCgi, z } from 'cgihost';

/** Revokes the token this request came with; the user's other devices stay signed in. */
export default defineCgi({
  apiVersion: 1,
  input: z.object({}),
  output: z.object({}),
  async handler(_input, ctx) {
    await ctx.store.revokeSession({ sessionId: ctx.sessionId! });
    return {};
  },
});
