import { defineCgi, z } from 'cgihost';
import { codePoints } from '../_shared/schemas.ts';
import { hashPassword, scryptCost } from '../_shared/password.ts';

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({
    username: z.string().regex(/^[a-z0-9_]{3,32}$/, 'username is 3–32 characters of [a-z0-9_]'),
    password: z.string().refine((p) => codePoints(p) >= 8 && codePoints(p) <= 128, 'password is 8–128 characters'),
  }),
  output: z.object({ uid: z.string() }),
  async handler(input, ctx) {
    const passwordHash = await hashPassword(input.password, scryptCost(ctx.env));
    return ctx.store.createUser({ username: input.username, passwordHash });
  },
});
