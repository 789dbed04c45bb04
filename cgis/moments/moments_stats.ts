import { defineSchedule } from 'cgihost';

/** Every 10 minutes: the running totals of Moments as gauges, for the dashboard and alert rules. */
export default defineSchedule({
  apiVersion: 1,
  cron: '*/10 * * * *',
  async handler(ctx) {
    const [posts, likes, comments] = await ctx.kv.getMany<number>([
      ['stats', 'posts'],
      ['stats', 'likes'],
      ['stats', 'comments'],
    ]);
    ctx.metrics.gauge('posts_total').set(posts?.value ?? 0);
    ctx.metrics.gauge('likes_total').set(likes?.value ?? 0);
    ctx.metrics.gauge('comments_total').set(comments?.value ?? 0);
  },
});
