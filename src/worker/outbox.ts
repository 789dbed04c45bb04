/**
 * Coalesces the messages posted during one event-loop turn into a single
 * postMessage. Under load many requests arrive in one turn, and a thread hop
 * costs far more per postMessage than per message in it.
 */
export class Outbox<T> {
  private items: T[] = [];
  private scheduled = false;

  constructor(private readonly target: { postMessage(value: unknown): void }) {}

  push(m: T): void {
    this.items.push(m);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends what is waiting now (also called when the thread is about to die, so finished answers still go out). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.target.postMessage(items);
  };
}
