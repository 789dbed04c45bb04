/**
 * Held long-poll syncs. A waiter is a small record in two maps (by user, by
 * request) and one timer; nothing polls. After every commit the users who got
 * entries are looked up here and their waiters answered with a fresh read.
 */
import type { SyncResult } from './api.js';

interface Waiter {
  uid: string;
  requestId: string;
  syncKey: number;
  limit: number;
  timer: NodeJS.Timeout;
  resolve(r: SyncResult): void;
}

export type InboxRead = (uid: string, syncKey: number, limit: number) => SyncResult;

export class SyncWaiters {
  private readonly byUid = new Map<string, Set<Waiter>>();
  private readonly byRequest = new Map<string, Waiter>();

  constructor(private readonly read: InboxRead) {}

  get size(): number {
    return this.byRequest.size;
  }

  has(uid: string): boolean {
    return this.byUid.has(uid);
  }

  /** Holds a sync until an entry arrives for `uid`, the time runs out, or it is cancelled. */
  hold(uid: string, requestId: string, syncKey: number, limit: number, timeoutMs: number): Promise<SyncResult> {
    // A request id is held once; a second hold under the same id ends the first.
    this.cancel(requestId);
    return new Promise<SyncResult>((resolve) => {
      const w: Waiter = {
        uid,
        requestId,
        syncKey,
        limit,
        resolve,
        timer: setTimeout(() => this.finish(w, empty(syncKey)), timeoutMs),
      };
      let set = this.byUid.get(uid);
      if (!set) this.byUid.set(uid, (set = new Set()));
      set.add(w);
      this.byRequest.set(requestId, w);
    });
  }

  /** After a commit: answers every waiter of these users that now has entries. */
  wake(uids: Iterable<string>): void {
    for (const uid of uids) {
      const set = this.byUid.get(uid);
      if (!set) continue;
      for (const w of set) {
        const r = this.read(w.uid, w.syncKey, w.limit);
        // A wake-up may be spurious (an operation that rolled back): keep holding then.
        if (r.messages.length > 0) this.finish(w, r);
      }
    }
  }

  /** Ends a held sync at once with an empty answer. */
  cancel(requestId: string): boolean {
    const w = this.byRequest.get(requestId);
    if (!w) return false;
    this.finish(w, empty(w.syncKey));
    return true;
  }

  /** Answers every held sync of one user with an empty list (the account was disabled). */
  releaseUser(uid: string): void {
    for (const w of [...(this.byUid.get(uid) ?? [])]) this.finish(w, empty(w.syncKey));
  }

  /** Answers every held sync with an empty list (closing). */
  releaseAll(): void {
    for (const w of [...this.byRequest.values()]) this.finish(w, empty(w.syncKey));
  }

  private finish(w: Waiter, r: SyncResult): void {
    if (this.byRequest.get(w.requestId) !== w) return;
    clearTimeout(w.timer);
    this.byRequest.delete(w.requestId);
    const set = this.byUid.get(w.uid)!;
    set.delete(w);
    if (set.size === 0) this.byUid.delete(w.uid);
    w.resolve(r);
  }
}

function empty(syncKey: number): SyncResult {
  return { messages: [], syncKey, continueFlag: false };
}
