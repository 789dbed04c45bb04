/**
 * `ctx.kv`: the data of the CGI's group (SPEC §8). Every CGI group has its
 * own key space, shared by its CGIs, consumers and schedules; no other group
 * can see it. Every write is durable once it resolves (it survives `kill -9`
 * of the host).
 */

/** One part of a key. */
export type KvKeyPart = string | number;

/**
 * 1 to 8 parts, at most 2 KiB encoded. Keys sort part by part: numbers
 * before strings, numbers by value, strings by their UTF-8 bytes; a key
 * sorts before the longer keys it starts.
 *
 * @example
 * ['post', 1764000000000, 'p1f3']   // a post by time
 * ['user', uid, 'timeline', -createdAt, postId]
 */
export type KvKey = readonly KvKeyPart[];

/** An opaque string that changes on every write of a key. */
export type KvVersion = string;

export interface KvEntry<T = unknown> {
  key: KvKeyPart[];
  value: T;
  version: KvVersion;
}

export interface KvSetOptions {
  /** The key disappears this many milliseconds after the write (reads skip it at once; it is deleted soon after). */
  expireInMs?: number;
}

/**
 * Which keys `list()` reads, in key order. `prefix` selects the keys that
 * start with it and are longer (the prefix key itself is not listed);
 * `start` (inclusive) and `end` (exclusive) bound the range, alone or inside
 * the prefix.
 */
export interface KvListOptions {
  prefix?: KvKey;
  start?: KvKey;
  end?: KvKey;
  /** 1 to 1000, default 100. */
  limit?: number;
  /** Newest-first listings: the largest key first. */
  reverse?: boolean;
  /** The `cursor` of the previous page: continue after its last entry (same selector). */
  cursor?: string;
}

export interface KvPage<T = unknown> {
  entries: Array<KvEntry<T>>;
  /** Present when more entries may follow: pass it as `cursor` for the next page. */
  cursor?: string;
}

export interface KvQueueOptions {
  /** Run the job no sooner than this many milliseconds after the commit. */
  delayMs?: number;
  /** Jobs with the same key run one at a time, in the order they were sent. */
  key?: string;
}

/**
 * Checks and writes that commit together or not at all, with queue jobs in
 * the same transaction (a job is sent exactly when the data it describes is
 * written).
 *
 * @example
 * const likes = await ctx.kv.get(['likes', postId]);
 * const res = await ctx.kv.atomic()
 *   .check(['likes', postId], likes?.version ?? null)
 *   .set(['likes', postId], [...(likes?.value ?? []), ctx.uid])
 *   .sum(['stats', 'likes'], 1)
 *   .enqueue('moments.notify', { postId, by: ctx.uid })
 *   .commit();
 * if (!res.ok) throw new CgiError(409, 'IDEMPOTENCY_CONFLICT', 'changed meanwhile, try again');
 */
export interface KvAtomic {
  /** The key's version must still be `version` (null: the key must not exist), or nothing is written. */
  check(key: KvKey, version: KvVersion | null): KvAtomic;
  set(key: KvKey, value: unknown, options?: KvSetOptions): KvAtomic;
  delete(key: KvKey): KvAtomic;
  /** Adds `n` to the number the key holds (a missing key counts as 0). */
  sum(key: KvKey, n: number): KvAtomic;
  /** Sends a job to `topic` in the same transaction (see ctx.queue.send). */
  enqueue(topic: string, payload: unknown, options?: KvQueueOptions): KvAtomic;
  /** `{ok: true, version}` once durable; `{ok: false}` when a check failed, and then nothing was written. */
  commit(): Promise<{ ok: true; version: KvVersion } | { ok: false }>;
}

/**
 * @example
 * await ctx.kv.set(['profile', ctx.uid!], { bio: 'hi' });
 * const entry = await ctx.kv.get<{ bio: string }>(['profile', ctx.uid!]);   // { key, value, version } | null
 * const page = await ctx.kv.list({ prefix: ['timeline', ctx.uid!], limit: 20 });
 * const next = await ctx.kv.list({ prefix: ['timeline', ctx.uid!], limit: 20, cursor: page.cursor });
 */
export interface Kv {
  get<T = unknown>(key: KvKey): Promise<KvEntry<T> | null>;
  /** Up to 100 keys; each answer is in the place of its key. */
  getMany<T = unknown>(keys: readonly KvKey[]): Promise<Array<KvEntry<T> | null>>;
  /** Any JSON value of at most 64 KiB (as JSON). */
  set(key: KvKey, value: unknown, options?: KvSetOptions): Promise<{ version: KvVersion }>;
  delete(key: KvKey): Promise<void>;
  list<T = unknown>(options?: KvListOptions): Promise<KvPage<T>>;
  atomic(): KvAtomic;
}
