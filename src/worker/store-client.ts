/** The `ctx.store` of a CGI: every store method as an RPC on the worker's own port to the store thread. */
import type { MessagePort } from 'node:worker_threads';
import { CgiError } from '../errors.js';
import type { StoreClient, StoreOp } from '../store/api.js';
import type { StoreRequest, StoreResponse } from '../store/protocol.js';
import { Outbox } from './outbox.js';

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

  constructor(port: MessagePort) {
    this.outbox = new Outbox(port);
    port.on('message', (batch: StoreResponse[]) => {
      for (const m of batch) {
        const p = this.pending.get(m.id);
        if (!p) continue;
        this.pending.delete(m.id);
        if (m.ok) {
          if (m.heldMs) p.onHeld?.(m.heldMs);
          p.resolve(m.value);
        } else p.reject(new CgiError(m.error.code, m.error.message, m.error.details));
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
   * `onHeld` hears how long a call was held as a long-poll.
   */
  clientFor(requestId: string, onHeld?: (ms: number) => void): StoreClient {
    return new Proxy({} as StoreClient, {
      get: (_t, op: string | symbol) =>
        typeof op === 'string' && op !== 'then' ? (args: unknown) => this.call(op as StoreOp, args, requestId, onHeld) : undefined,
    });
  }

  cancel(requestId: string): void {
    this.outbox.push({ t: 'cancel', requestId });
  }

  private call(op: StoreOp, args: unknown, requestId: string, onHeld?: (ms: number) => void): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onHeld });
      this.outbox.push({ t: 'call', id, op, args, requestId });
    });
  }
}
