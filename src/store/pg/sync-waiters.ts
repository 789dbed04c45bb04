/**
 * Held long-poll syncs on PostgreSQL (sync-waiters.ts's HeldSyncs, with an
 * asynchronous read). A waiter is answered when a read after a wake-up finds
 * entries; a wake-up may come from this host's commit, a NOTIFY of any host,
 * the bus's reconnect (null: all of them), or the once-a-second re-check of
 * every held uid against inbox_heads (`recheck`), which bounds what a lost
 * NOTIFY costs.
 */
import type { SyncResult } from '../api.js';
import { emptySync, HeldSyncs, type HeldSync } from '../sync-waiters.js';

interface Waiter extends HeldSync {
  /** A read for it is in flight; `again`: another wake-up came meanwhile. */
  reading: boolean;
  again: boolean;
}

export type AsyncInboxRead = (uid: string, syncKey: number, limit: number) => Promise<SyncResult>;
export type HeadsRead = (uids: string[]) => Promise<Array<{ uid: string; last_seq: number }>>;

export class PgSyncWaiters extends HeldSyncs<Waiter> {
  constructor(
    private readonly read: AsyncInboxRead,
    private readonly heads: HeadsRead,
    private readonly onError: (err: unknown) => void,
  ) {
    super();
  }

  /**
   * Holds a sync until a read finds entries for it, the time runs out, or it
   * is cancelled. `reading`: the caller reads the inbox itself right after
   * (the hold is taken first, so an entry committed meanwhile is not missed)
   * and tells the outcome with `settle`.
   */
  hold(uid: string, requestId: string, syncKey: number, limit: number, timeoutMs: number, reading = false): Promise<SyncResult> {
    return this.holdWaiter({ uid, requestId, syncKey, limit, reading, again: false }, timeoutMs);
  }

  /** Entries may have come for these users (null: for anyone): read their waiters again. */
  wake(uids: Iterable<string> | null): void {
    const list = uids === null ? [...this.byUid.keys()] : uids;
    for (const uid of list) {
      const set = this.byUid.get(uid);
      if (!set) continue;
      for (const w of set) this.check(w);
    }
  }

  /** The caller's own read of a sync held with `reading` (null: it failed): answers it with entries, or goes on holding. */
  settle(requestId: string, r: SyncResult | null): void {
    const w = this.byRequest.get(requestId);
    if (!w) return;
    if (r === null) return this.finish(w, emptySync(w.syncKey));
    w.reading = false;
    if (r.messages.length > 0) this.finish(w, r);
    else if (w.again) this.check(w);
  }

  /** One query for every held uid: the waiters whose inbox moved past their key are read. */
  async recheck(): Promise<void> {
    if (this.byUid.size === 0) return;
    const rows = await this.heads([...this.byUid.keys()]);
    for (const r of rows) {
      const set = this.byUid.get(r.uid);
      if (!set) continue;
      for (const w of set) if (r.last_seq > w.syncKey) this.check(w);
    }
  }

  private check(w: Waiter): void {
    if (w.reading) {
      w.again = true;
      return;
    }
    w.reading = true;
    w.again = false;
    this.read(w.uid, w.syncKey, w.limit).then(
      (r) => {
        w.reading = false;
        // A wake-up may be spurious (another waiter's entry, a rolled-back write): keep holding then.
        if (r.messages.length > 0) this.finish(w, r);
        else if (w.again) this.check(w);
      },
      (err: unknown) => {
        w.reading = false;
        this.onError(err);
        if (w.again) this.check(w);
      },
    );
  }
}
