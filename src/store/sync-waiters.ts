/**
 * Held long-poll syncs. A waiter is a small record in two maps (by user, by
 * request) and one timer; nothing polls. After every commit the users who got
 * entries are looked up here and their waiters answered with a fresh read.
 * HeldSyncs is that bookkeeping, which the PostgreSQL engine's waiters (whose
 * reads are asynchronous: pg/sync-waiters.ts) share.
 */
import type { SyncResult } from './api.js';

export interface HeldSync {
  uid: string;
  requestId: string;
  syncKey: number;
  limit: number;
  timer: NodeJS.Timeout;
  resolve(r: SyncResult): void;
}

/** The held syncs of one store, by user and by request, each answered once: by a read, its timer, or a release. */
export class HeldSyncs<W extends HeldSync> {
  protected readonly byUid = new Map<string, Set<W>>();
  protected readonly byRequest = new Map<string, W>();

  get size(): number {
    return this.byRequest.size;
  }

  has(uid: string): boolean {
    return this.byUid.has(uid);
  }

  /** Ends a held sync at once with an empty answer. */
  cancel(requestId: string): boolean {
    const w = this.byRequest.get(requestId);
    if (!w) return false;
    this.finish(w, emptySync(w.syncKey));
    return true;
  }

  /** Answers every held sync of one user with an empty list (the account was disabled). */
  releaseUser(uid: string): void {
    for (const w of [...(this.byUid.get(uid) ?? [])]) this.finish(w, emptySync(w.syncKey));
  }

  /** Answers every held sync with an empty list (closing). */
  releaseAll(): void {
    for (const w of [...this.byRequest.values()]) this.finish(w, emptySync(w.syncKey));
  }

  /**
   * Holds a sync until it is finished or `timeoutMs` runs out (an empty
   * answer). A request id is held once: a second hold under it ends the first.
   */
  protected holdWaiter(held: Omit<W, 'timer' | 'resolve'>, timeoutMs: number): Promise<SyncResult> {
    this.cancel(held.requestId);
    return new Promise<SyncResult>((resolve) => {
      const w = { ...held, resolve, timer: setTimeout(() => this.finish(w, emptySync(held.syncKey)), timeoutMs) } as W;
      let set = this.byUid.get(w.uid);
      if (!set) this.byUid.set(w.uid, (set = new Set()));
      set.add(w);
      this.byRequest.set(w.requestId, w);
    });
  }

  protected finish(w: W, r: SyncResult): void {
    if (this.byRequest.get(w.requestId) !== w) return;
    clearTimeout(w.timer);
    this.byRequest.delete(w.requestId);
    const set = this.byUid.get(w.uid)!;
    set.delete(w);
    if (set.size === 0) this.byUid.delete(w.uid);
    w.resolve(r);
  }
}

export function emptySync(syncKey: number): SyncResult {
  return { messages: [], syncKey, continueFlag: false };
}

export type InboxRead = (uid: string, syncKey: number, limit: number) => SyncResult;

/** SQLite's: the read is synchronous, on the writer's thread, right after the commit. */
export class SyncWaiters extends HeldSyncs<HeldSync> {
  constructor(private readonly read: InboxRead) {
    super();
  }

  /** Holds a sync until an entry arrives for `uid`, the time runs out, or it is cancelled. */
  hold(uid: string, requestId: string, syncKey: number, limit: number, timeoutMs: number): Promise<SyncResult> {
    return this.holdWaiter({ uid, requestId, syncKey, limit }, timeoutMs);
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
}
