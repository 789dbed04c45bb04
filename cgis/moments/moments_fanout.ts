import { defineConsumer } from 'cgihost';
import { Audience, FanoutJob, type Post } from './_model.ts';

/** Lines written or removed per atomic write (a write takes at most 1000 mutations). */
const CHUNK = 500;

/**
 * Write diffusion of Moments: a post's line goes into the timeline of each of
 * its author's contacts (add), or comes out again with the post's likes and
 * comments (remove). Jobs of one post run in order (keyed by postId); a job
 * run twice writes the same lines again, so at-least-once delivery is safe.
 */
export default defineConsumer({
  apiVersion: 1,
  topic: 'moments.fanout',
  input: FanoutJob,
  concurrency: 8,
  timeoutMs: 60_000,
  async handler(job, ctx) {
    const { contacts, blocked } = await new Audience(ctx).of(job.author);
    const readers = [...contacts].filter((uid) => !blocked.has(uid) && uid !== job.author);
    if (job.op === 'add') {
      // Deleted before its fan-out ran: nothing to spread.
      if (!(await ctx.kv.get<Post>(['post', job.postId]))) return;
      for (let i = 0; i < readers.length; i += CHUNK) {
        const write = ctx.kv.atomic();
        for (const uid of readers.slice(i, i + CHUNK)) write.set(['tl', uid, job.createdAt, job.postId], { author: job.author });
        await write.commit();
      }
      ctx.metrics.histogram('fanout_contacts').observe(readers.length);
      return;
    }
    for (let i = 0; i < readers.length; i += CHUNK) {
      const write = ctx.kv.atomic();
      for (const uid of readers.slice(i, i + CHUNK)) write.delete(['tl', uid, job.createdAt, job.postId]);
      await write.commit();
    }
    for (const prefix of [
      ['like', job.postId],
      ['comment', job.postId],
    ]) {
      for (;;) {
        const page = await ctx.kv.list({ prefix, limit: CHUNK });
        if (page.entries.length === 0) break;
        const write = ctx.kv.atomic();
        for (const e of page.entries) write.delete(e.key);
        await write.commit();
      }
    }
  },
});
