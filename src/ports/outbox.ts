/**
 * The ports room: what every thread's MessagePort uses, imported by the main
 * thread, the CGI workers and the store thread alike, so it belongs to none
 * of them (and imports nothing).
 *
 * Coalesces the messages posted during one event-loop turn into a single
 * postMessage. Under load many requests arrive in one turn, and a thread hop
 * costs far more per postMessage than per message in it.
 */
export class Outbox<T> {
  /** This thread's outboxes holding messages not yet sent. */
  private static readonly pending = new Set<Outbox<unknown>>();

  /**
   * Sends what every outbox of this thread holds now, ahead of their turn:
   * for work that would otherwise run before it in the same turn (a group
   * message's fan-out, which must not hold back the answer of the send that
   * queued it).
   */
  static flushPending(): void {
    for (const o of Outbox.pending) o.flush();
  }

  private items: T[] = [];
  private transfer: ArrayBuffer[] = [];
  private scheduled = false;

  constructor(private readonly target: { postMessage(value: unknown, transfer?: ArrayBuffer[]): void }) {}

  /** `transfer`: buffers of `m` to move to the other thread instead of copying (they are unusable here after). */
  push(m: T, transfer?: ArrayBuffer): void {
    this.items.push(m);
    if (transfer) this.transfer.push(transfer);
    if (!this.scheduled) {
      this.scheduled = true;
      Outbox.pending.add(this);
      setImmediate(this.flush);
    }
  }

  /** Sends what is waiting now (also called when the thread is about to die, so finished answers still go out). */
  readonly flush = (): void => {
    this.scheduled = false;
    Outbox.pending.delete(this);
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    if (this.transfer.length === 0) return this.target.postMessage(items);
    const transfer = this.transfer;
    this.transfer = [];
    this.target.postMessage(items, transfer);
  };
}
