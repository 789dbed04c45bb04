import { defineCgi, z } from 'cgihost';
import { DisplayNameSchema, MediaIdSchema, ProfileSchema } from '../_shared/schemas.ts';

/**
 * Sets the caller's display name and/or avatar; answers the caller's profile.
 * `avatarMediaId` is an uploaded image the caller may read (it then becomes
 * readable by every signed-in user); null removes the avatar.
 */
export default defineCgi({
  apiVersion: 1,
  input: z.object({
    displayName: DisplayNameSchema.optional(),
    avatarMediaId: MediaIdSchema.nullable().optional(),
  }),
  output: ProfileSchema,
  handler: (input, ctx) => ctx.store.setProfile({ uid: ctx.uid!, ...input }),
});
