import { defineCgi, z } from 'cgihost';
import { Audience, momentOf, MomentSchema, type Moment, type Post } from './_model.ts';

/**
 * POST /cgi-bin/getmoments {limit?, cursor?} → {moments, cursor?}: the caller's
 * timeline, newest first — their own posts and their contacts' — each with
 * the likes and comments they may see. `cursor` continues where a page
 * stopped. A post its author deleted, or whose author no longer lists the
 * caller as a contact, is left out.
 */
export default defineCgi({
  apiVersion: 1,
  input: z.object({ limit: z.number().int().min(1).max(50).default(20), cursor: z.string().max(4096).optional() }),
  output: z.object({ moments: z.array(MomentSchema), cursor: z.string().optional() }),
  async handler(input, ctx) {
    const uid = ctx.uid!;
    const audience = new Audience(ctx);
    const moments: Moment[] = [];
    let cursor = input.cursor;
    // Lines of posts the caller may no longer see are skipped; a few more reads fill the page.
    for (let reads = 0; reads < 4 && moments.length < input.limit; reads++) {
      const page = await ctx.kv.list<{ author: string }>({
        prefix: ['tl', uid],
        reverse: true,
        limit: input.limit - moments.length,
        cursor,
      });
      const posts = await ctx.kv.getMany<Post>(page.entries.map((e) => ['post', e.key[3] as string]));
      const shown = await Promise.all(
        posts.map(async (p) => (p && (await audience.canSee(uid, p.value.author)) ? momentOf(ctx, p.value, uid) : null)),
      );
      for (const m of shown) if (m) moments.push(m);
      cursor = page.cursor;
      if (!cursor) break;
    }
    return cursor ? { moments, cursor } : { moments };
  },
});
