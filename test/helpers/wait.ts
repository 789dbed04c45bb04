/**
 * Waiting in tests: for a condition, bounded. A fixed sleep is only for when
 * time itself is what a test is about (a window, a pause between requests),
 * and the call site says so.
 */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a truthy check lets through. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface WaitOptions {
  /** Poll interval; default 25 ms. */
  everyMs?: number;
  /** What is awaited, for the timeout's message. */
  what?: string;
}

/**
 * Polls `fn` until it returns a truthy value (resolved), or throws after `ms`
 * with the last error `fn` threw. The third argument is the poll interval in
 * ms, or options.
 */
export async function waitFor<T>(fn: () => Promise<T> | T, ms = 5_000, opts: WaitOptions | number = {}): Promise<Truthy<T>> {
  const { everyMs = 25, what = 'condition' } = typeof opts === 'number' ? { everyMs: opts } : opts;
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}
