import { defineCgi, z } from 'cgihost';
import { codePoints, IdSchema } from '../_shared/schemas.ts';

/**
 * Asks `uid` to become a contact (they get a `contact_request` entry), or,
 * when they had asked the caller first, makes both contacts at once (both get
 * `contact_added`). Repeating it writes nothing. 403 BLOCKED when `uid`
 * blocks the caller.
 */
export default defineCgi({
  apiVersion: 1,
  input: z.object({
    uid: IdSchema,
    greeting: z
      .string()
      .refine((g) => codePoints(g) <= 200, 'greeting is at most 200 characters')
      .refine((g) => g.isWellFormed(), 'greeting is not well-formed Unicode')
      .optional(),
  }),
  output: z.object({ status: z.enum(['requested', 'added']) }),
  handler: (input, ctx) => ctx.store.addContact({ uid: ctx.uid!, peer: input.uid, greeting: input.greeting }),
});
