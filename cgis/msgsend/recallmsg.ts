import { defineCgi, z } from 'cgihost';

/**
 * Takes back one of the caller's messages within messaging.recallWindowMs of
 * sending (403 RECALL_WINDOW_PASSED after, 403 FORBIDDEN for someone else's,
 * 404 NO_SUCH_MESSAGE for an unknown id). Every inbox holding it gets a
 * `recalled` entry; recalling again answers the same.
 */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ msgId: z.string().min(1).max(64) }),
  output: z.object({ recalled: z.literal(true) }),
  handler: (input, ctx) => ctx.store.recallMessage({ uid: ctx.uid!, msgId: input.msgId }),
});
