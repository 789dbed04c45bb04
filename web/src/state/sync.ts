/**
 * The one long-poll loop (SPEC §4 Sync): ask for the inbox after syncKey,
 * held up to 25 s by the host when nothing is waiting; apply what comes; go
 * again. A call unanswered 15 s past its hold is an error too. After an error it waits 0.5 s, 1 s, 2 s … up to 15 s (with jitter),
 * or less when the browser says the network is back or another call reached the host (retrySyncNow).
 */
import { ApiError, CALL_TIMEOUT_MS, call, isAbort } from '../api/client.ts';
import type { ApiOutput, InboxEntry } from '../api/types.ts';
import { getState, setState } from './store.ts';

const HOLD_MS = 25_000;
const PAGE = 200;

export interface SyncHooks {
  /** Entries in seq order, before syncKey moves past them. */
  apply(entries: InboxEntry[]): void;
  /** The host answered after one or more failures. */
  reconnected(): void;
  /** The host's inbox is behind this client's syncKey (a restored backup): start over from its last seq. */
  reset(lastSeq: number): void;
}

let running: { stop: () => void; retryNow: () => void } | null = null;

export function startSync(hooks: SyncHooks): void {
  stopSync();
  let stopped = false;
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;
  let failing = false;
  const onOnline = () => wake?.();
  window.addEventListener('online', onOnline);
  running = {
    stop() {
      stopped = true;
      controller?.abort();
      wake?.();
      window.removeEventListener('online', onOnline);
    },
    retryNow() {
      if (failing) wake?.();
    },
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  void (async () => {
    let failures = 0;
    let more = true;
    while (!stopped) {
      controller = new AbortController();
      try {
        const r: ApiOutput<'sync'> = await call(
          'sync',
          { syncKey: getState().syncKey, limit: PAGE, timeoutMs: more ? 0 : HOLD_MS },
          // The host holds the call up to HOLD_MS: past that and a margin, the connection is dead.
          { signal: controller.signal, timeoutMs: HOLD_MS + CALL_TIMEOUT_MS },
        );
        if (stopped) return;
        if (r.messages.length) hooks.apply(r.messages);
        setState({ syncKey: r.syncKey, link: 'up' });
        if (failures) hooks.reconnected();
        failures = 0;
        failing = false;
        more = r.continueFlag;
      } catch (e) {
        if (stopped || isAbort(e)) return;
        if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') return;
        if (e instanceof ApiError && e.code === 'SYNC_KEY_AHEAD') {
          hooks.reset(Number((e.details as { lastSeq?: number } | undefined)?.lastSeq ?? 0));
          continue;
        }
        failures++;
        failing = true;
        setState({ link: failures > 1 || !navigator.onLine ? 'down' : 'connecting' });
        const retryAfter = e instanceof ApiError && e.retryAfterSec ? e.retryAfterSec * 1000 : 0;
        await pause(Math.max(retryAfter, Math.min(15_000, 500 * 2 ** Math.min(failures - 1, 5)) * (0.75 + Math.random() * 0.5)));
        more = true;
      }
    }
  })();
}

/**
 * Another call just reached the host (a queued send went out): if the loop is
 * waiting out its backoff after failures, it asks again now instead of up to
 * 15 s later, so replies and receipts follow the send at once.
 */
export function retrySyncNow(): void {
  running?.retryNow();
}

export function stopSync(): void {
  running?.stop();
  running = null;
}
