/**
 * The worker's port to the store thread: `ctx.store` (every store method as
 * an RPC), the ctx.kv and ctx.queue operations, and, for a consumer, the
 * jobs the store hands it and their outcomes.
 */
import type { MessagePort } from 'node:worker_threads';
import { CgiError, isErrorCode } from '../errors.js';
import type { StoreClient, StoreOp } from '../store/api.js';
import type { PlatformApi, PlatformOp } from '../store/platform-api.js';
import type { StoreRequest, StoreResponse } from '../store/protocol.js';
import type { Subscription, ToConsumer } from '../store/queue/consumers.js';
import { Outbox } from '../ports/outbox.js';

/**
 * Store operations a worker answers itself where it can (runtime.ts: sync's
 * reads on its own SQLite connection); `remote` makes the call through the
 * store thread.
 */
export type LocalOps = Partial<Record<StoreOp, (args: unknown, remote: (args: unknown) => Promise<unknown>) => Promise<unknown>>>;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onHeld?(ms: number): void;
}

export class StoreRpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Calls made in one event-loop turn cross to the store thread in one postMessage, and answers come back batched too. */
  private readonly outbox: Outbox<StoreRequest>;
  /** A consumer's: jobs and aborts from the store. */
  private onJob?: (m: ToConsumer) => void;

  constructor(private readonly port: MessagePort) {
    this.outbox = new Outbox(port);
    port.on('message', (batch: StoreResponse[]) => {
      for (const m of batch) {
        if (m.t !== 'result') {
          this.onJob?.(m);
          continue;
        }
        const p = this.pending.get(m.id);
        if (!p) continue;
        this.pending.delete(m.id);
        if (m.ok) {
          if (m.heldMs) p.onHeld?.(m.heldMs);
          p.resolve(m.value);
        } else p.reject(new CgiError(isErrorCode(m.error.code) ? m.error.code : 'INTERNAL', m.error.message, m.error.details));
      }
    });
    // The store thread closes every port when it stops or dies: nothing may wait for it forever.
    port.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('the store is not running'));
      this.pending.clear();
    });
  }

  /**
   * A client whose calls carry this request's id, so the store can end them when the request goes away;
   * `onHeld` hears how long a call was held as a long-poll; `local` answers some operations in the worker.
   */
  clientFor(requestId: string, onHeld?: (ms: number) => void, local: LocalOps = {}): StoreClient {
    return new Proxy({} as StoreClient, {
      get: (_t, op: string | symbol) => {
        if (typeof op !== 'string' || op === 'then') return undefined;
        const remote = (args: unknown) => this.call({ t: 'call', id: 0, op: op as StoreOp, args, requestId }, onHeld);
        const here = Object.hasOwn(local, op) ? local[op as StoreOp] : undefined;
        return here ? (args: unknown) => here(args, remote) : remote;
      },
    });
  }

  /** A ctx.kv / ctx.queue operation in this worker's group. */
  platform<K extends PlatformOp>(op: K, args: Parameters<PlatformApi[K]>[0]): Promise<ReturnType<PlatformApi[K]>> {
    return this.call({ t: 'platform', id: 0, op, args }) as Promise<ReturnType<PlatformApi[K]>>;
  }

  cancel(requestId: string): void {
    this.outbox.push({ t: 'cancel', requestId });
  }

  /** Starts taking the topic's jobs; `onJob` receives them. */
  subscribe(sub: Subscription, onJob: (m: ToConsumer) => void): void {
    this.onJob = onJob;
    this.outbox.push({ t: 'subscribe', sub });
  }

  unsubscribe(): void {
    this.outbox.push({ t: 'unsubscribe' });
  }

  jobDone(id: number, attempt: number): void {
    this.outbox.push({ t: 'job-done', id, attempt });
  }

  jobFailed(id: number, attempt: number, error: string, permanent = false): void {
    this.outbox.push({ t: 'job-failed', id, attempt, error, permanent });
  }

  close(): void {
    this.port.close();
  }

  private call(m: Extract<StoreRequest, { t: 'call' | 'platform' }>, onHeld?: (ms: number) => void): Promise<unknown> {
    const id = this.nextId++;
    m.id = id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onHeld });
      this.outbox.push(m);
    });
  }
}
