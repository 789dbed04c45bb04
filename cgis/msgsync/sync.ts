import { defineCgi, z } from 'cgihost';
import { SyncMessageSchema } from '../_shared/schemas.ts';

/**
 * The caller's inbox entries after `syncKey`. With `timeoutMs` > 0 and nothing
 * waiting, the call is held until an entry arrives or the time runs out.
 */
export default defineCgi({
  apiVersion: 1,
  // A held long-poll may last 30 s; the host's default timeout would cut it.
  timeoutMs: 35_000,
  input: z.object({
    syncKey: z.number().int().min(0),
    limit: z.number().int().min(1).max(500).default(100),
    timeoutMs: z.number().int().min(0).max(30_000).default(0),
  }),
  output: z.object({ messages: z.array(SyncMessageSchema), syncKey: z.number().int().min(0), continueFlag: z.boolean() }),
  handler: (input, ctx) => ctx.store.sync({ uid: ctx.uid!, ...input }),
});
