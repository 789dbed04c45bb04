/**
 * Consumers and schedules: files in a cgis group that run in their own worker
 * like a CGI (same isolation, hot reload, quarantine and `ctx`), but are
 * started by the queue and the clock instead of HTTP (SPEC §8).
 */
import type { z } from 'zod';
import type { ConsumerContext, ScheduleContext } from './context.js';

export interface ConsumerDefinition<I extends z.ZodType = z.ZodType> {
  /** The host API version this consumer was written against. */
  apiVersion: number;
  /** The topic whose jobs it handles; one consumer per topic. */
  topic: string;
  /** Each job's payload is validated against this first; a payload that fails is dead-lettered at once (no retry can fix it). */
  input: I;
  /** Jobs one worker handles at once (default 10). */
  concurrency?: number;
  /** Tries before a failing job is dead-lettered (default 5). */
  maxAttempts?: number;
  /** A try that takes longer fails (default: the host's CGI timeout, 10 s). */
  timeoutMs?: number;
  /** Returning is success; throwing (or timing out, or crashing) is a failed try, retried with backoff. */
  handler(payload: z.output<I>, ctx: ConsumerContext): Promise<void> | void;
}

export interface ScheduleDefinition {
  apiVersion: number;
  /** 5 fields: minute hour day-of-month month day-of-week, in the server's time zone. */
  cron: string;
  /** A run that takes longer fails (default: the host's CGI timeout, 10 s). */
  timeoutMs?: number;
  /** Never two runs of one schedule at once: a firing due while a run is going on is skipped. */
  handler(ctx: ScheduleContext): Promise<void> | void;
}

const CONSUMER = Symbol.for('cgihost.consumer');
const SCHEDULE = Symbol.for('cgihost.schedule');

/**
 * A consumer of a queue topic: delivery is at least once, so a handler must
 * be safe to run twice for one job (write with `ctx.kv.atomic()` checks, or
 * keys that a repeat overwrites with the same value).
 *
 * @example
 * // cgis/moments/timeline_fill.ts
 * import { defineConsumer, z } from 'cgihost';
 *
 * export default defineConsumer({
 *   apiVersion: 1,
 *   topic: 'moments.posted',
 *   input: z.object({ postId: z.string(), author: z.string(), at: z.number() }),
 *   concurrency: 4,
 *   async handler(job, ctx) {
 *     ctx.log.info('filling timelines', { postId: job.postId, attempt: ctx.job.attempt });
 *   },
 * });
 */
export function defineConsumer<I extends z.ZodType>(def: ConsumerDefinition<I>): ConsumerDefinition<I> {
  Object.defineProperty(def, CONSUMER, { value: true });
  return def;
}

/**
 * A schedule: the handler runs at each time the 5-field cron expression
 * names, in its own worker, on one host only.
 *
 * @example
 * // cgis/moments/moments_stats.ts: at minute 0 of every hour
 * import { defineSchedule } from 'cgihost';
 *
 * export default defineSchedule({
 *   apiVersion: 1,
 *   cron: '0 * * * *',
 *   async handler(ctx) {
 *     const posts = await ctx.kv.get<number>(['stats', 'posts']);
 *     ctx.metrics.gauge('posts_total').set(posts?.value ?? 0);
 *   },
 * });
 */
export function defineSchedule(def: ScheduleDefinition): ScheduleDefinition {
  Object.defineProperty(def, SCHEDULE, { value: true });
  return def;
}

export function isDefinedConsumer(v: unknown): v is ConsumerDefinition {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[CONSUMER] === true;
}

export function isDefinedSchedule(v: unknown): v is ScheduleDefinition {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[SCHEDULE] === true;
}

/** Defaults of a consumer's definition. */
export const CONSUMER_DEFAULTS = { concurrency: 10, maxAttempts: 5 } as const;
/** Bounds of a consumer's definition. */
export const CONSUMER_LIMITS = { concurrency: 1_000, maxAttempts: 100 } as const;
