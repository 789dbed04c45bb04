/**
 * One timer for the next due time of a consumer's retries: an idle queue costs
 * nothing, a queue in backoff wakes up exactly once when its next job is due.
 */
const MAX_DELAY = 2 ** 31 - 1;

export class DueTimer {
  private timer: NodeJS.Timeout | null = null;
  private at = Infinity;

  constructor(private readonly fire: () => void) {}

  /** Fires at `time` (ms since the epoch), unless already set to fire earlier. */
  schedule(time: number): void {
    if (time >= this.at) return;
    this.cancel();
    this.at = time;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.at = Infinity;
        this.fire();
      },
      Math.min(MAX_DELAY, Math.max(0, time - Date.now())),
    );
    // The store thread is kept alive by its ports; a pending retry must not keep a process alive alone.
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at = Infinity;
  }
}
