/**
 * The store thread's entry (bundled as dist/store-thread.js). It owns the one
 * writer connection. The main thread controls it through parentPort; each CGI
 * worker calls it on a MessagePort of its own, attached here.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CgiError, isErrorCode, type ErrorCode } from '../errors.js';
import type { StoreOp } from './api.js';
import type { UsersAdminOp } from './admin-api.js';
import type { StoreControl, StoreControlReply, StoreRequest, StoreResponse } from './protocol.js';
import type { PlatformOp, PortOwner } from './platform-api.js';
import type { PlatformAdminOp } from './platform.js';
import type { Subscriber } from './queue/consumers.js';
import { forwardLogger } from '../log.js';
import type { StoreOptions } from './options.js';
import type { CallContext } from './store.js';
import type { StoreEngine } from './engine.js';
import { openEngine } from './open-engine.js';
import { Outbox } from '../ports/outbox.js';

/** The options the main thread sends as workerData (StoreOptions without the logger). */
export type StoreThreadOptions = Omit<StoreOptions, 'log'>;

/** The operations a port may call: exactly StoreApi, nothing else of Store (close, stats...). */
const OPS: Record<StoreOp, true> = {
  createUser: true,
  findUserByName: true,
  createSession: true,
  revokeSession: true,
  checkLogin: true,
  recordLogin: true,
  sendMessage: true,
  sync: true,
  setProfile: true,
  getProfiles: true,
  findUser: true,
  addContact: true,
  acceptContact: true,
  declineContact: true,
  deleteContact: true,
  getContacts: true,
  blockUser: true,
  unblockUser: true,
  getConversations: true,
  markRead: true,
  getHistory: true,
  recallMessage: true,
  searchMessages: true,
  createGroup: true,
  addGroupMembers: true,
  removeGroupMembers: true,
  getGroup: true,
  putMedia: true,
  openMedia: true,
};

/** ctx.kv and ctx.queue: the operations a worker's port may call in its owner's key space. */
const PLATFORM_OPS: Record<PlatformOp, true> = { kvGet: true, kvList: true, kvCommit: true };

/** What the main thread may ask for the admin API: the queue and schedules (the store's Platform)... */
const PLATFORM_ADMIN_OPS: Record<PlatformAdminOp, true> = {
  queueTopics: true,
  deadLetters: true,
  retryDead: true,
  leaseSchedule: true,
  scheduleFinished: true,
  scheduleRuns: true,
};
/** ...and the users (the Store itself). */
const USERS_ADMIN_OPS: Record<UsersAdminOp, true> = { listUsers: true, getUser: true, setUserDisabled: true, resetPassword: true };

const control = parentPort!;
const reply = (m: StoreControlReply) => control.postMessage(m);
// Records go to the main thread's logger.
const log = forwardLogger((level, msg, fields) => reply({ t: 'log', level, msg, fields }));
// A failure to open (a database that cannot be reached) ends the thread with its message: the host says it and exits.
const store: StoreEngine = await openEngine({ ...(workerData as StoreThreadOptions), log });
const ports = new Set<MessagePort>();

control.on('message', (m: StoreControl) => {
  switch (m.t) {
    case 'attach':
      attach(m.port, m.owner);
      return;
    case 'admin':
      admin(m);
      return;
    case 'stats':
      try {
        reply({ t: 'stats', id: m.id, stats: store.stats() });
      } catch (err) {
        log.error('store stats failed', { error: String(err) });
        reply({ t: 'failed', id: m.id, message: 'store stats failed' });
      }
      return;
    case 'emit':
      store.emit(m.event, m.payload).then(
        () => reply({ t: 'emitted', id: m.id }),
        (err: unknown) => reply({ t: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) }),
      );
      return;
    case 'releaseWaiters':
      reply({ t: 'waitersReleased', id: m.id, released: store.releaseWaiters() });
      return;
    case 'close':
      void store.close().then(
        () => {
          for (const p of ports) p.close();
          reply({ t: 'closed', id: m.id });
        },
        (err: unknown) => {
          log.error('store close failed', { error: String(err) });
          reply({ t: 'failed', id: m.id, message: 'store close failed' });
        },
      );
      return;
  }
});

function attach(port: MessagePort, owner: PortOwner | undefined): void {
  ports.add(port);
  /** Request ids with a sync in progress on this port: ended when the worker goes away. */
  const held = new Map<string, number>();
  // Answers made in one turn (a committed batch) go back in one postMessage.
  const outbox = new Outbox<StoreResponse>({ postMessage: (batch: StoreResponse[]) => post(port, batch) });
  /** Set when the worker is a consumer that subscribed to its topic. */
  let sub: Subscriber | undefined;
  port.on('message', (batch: StoreRequest[]) => {
    for (const m of batch) {
      switch (m.t) {
        case 'call':
          call(outbox, m, held);
          break;
        case 'platform':
          platformCall(outbox, m, owner);
          break;
        case 'cancel':
          store.cancel(m.requestId);
          break;
        case 'job-done':
          if (sub) store.platform.dispatch.answered(sub, m.id, m.attempt, null);
          break;
        case 'job-failed':
          if (sub) store.platform.dispatch.answered(sub, m.id, m.attempt, String(m.error).slice(0, 1000), m.permanent === true);
          break;
        case 'subscribe':
          if (!sub && owner) {
            sub = { ...m.sub, unit: owner.unit, running: 0, draining: false, send: (r) => outbox.push(r) };
            store.platform.subscribe(sub);
          }
          break;
        case 'unsubscribe':
          if (sub) store.platform.dispatch.unsubscribe(sub);
          break;
      }
    }
  });
  port.on('close', () => {
    ports.delete(port);
    for (const requestId of held.keys()) store.cancel(requestId);
    if (sub) store.platform.dispatch.closed(sub);
  });
}

function platformCall(outbox: Outbox<StoreResponse>, m: Extract<StoreRequest, { t: 'platform' }>, owner: PortOwner | undefined): void {
  const send = (r: StoreResponse) => outbox.push(r);
  let result: Promise<unknown>;
  try {
    if (!Object.hasOwn(PLATFORM_OPS, m.op)) throw new Error(`unknown platform operation ${String(m.op)}`);
    if (!owner) throw new CgiError('INTERNAL', 'this port belongs to no CGI group');
    const fn = store.platform[m.op] as (args: unknown, owner: PortOwner) => Promise<unknown>;
    result = fn.call(store.platform, m.args ?? {}, owner);
  } catch (err) {
    result = Promise.reject(err);
  }
  result.then(
    (value) => send({ t: 'result', id: m.id, ok: true, value: value ?? null }),
    (err: unknown) => send({ t: 'result', id: m.id, ok: false, error: wireError(err, m.op) }),
  );
}

function admin(m: Extract<StoreControl, { t: 'admin' }>): void {
  let result: Promise<unknown>;
  try {
    const target: object = Object.hasOwn(PLATFORM_ADMIN_OPS, m.op) ? store.platform : Object.hasOwn(USERS_ADMIN_OPS, m.op) ? store : {};
    const fn = (target as Record<string, unknown>)[m.op];
    if (typeof fn !== 'function') throw new Error(`unknown admin operation ${String(m.op)}`);
    result = Promise.resolve(fn.call(target, m.args ?? {}));
  } catch (err) {
    result = Promise.reject(err);
  }
  result.then(
    (value) => reply({ t: 'admin', id: m.id, ok: true, value: value ?? null }),
    (err: unknown) => reply({ t: 'admin', id: m.id, ok: false, error: wireError(err, m.op) }),
  );
}

/** Posts a batch of answers; one that cannot be cloned is logged and answered INTERNAL instead, the rest still go. */
function post(port: MessagePort, batch: StoreResponse[]): void {
  try {
    port.postMessage(batch);
    return;
  } catch {
    // Find the culprit below.
  }
  for (const r of batch) {
    try {
      port.postMessage([r]);
    } catch (err) {
      log.error('store answer could not be sent', { error: String(err) });
      port.postMessage([
        { t: 'result', id: r.id, ok: false, error: { code: 'INTERNAL', message: 'internal store error' } } satisfies StoreResponse,
      ]);
    }
  }
}

function call(outbox: Outbox<StoreResponse>, m: Extract<StoreRequest, { t: 'call' }>, held: Map<string, number>): void {
  const send = (r: StoreResponse) => outbox.push(r);
  const fail = (err: unknown) => send({ t: 'result', id: m.id, ok: false, error: wireError(err, m.op) });
  if (!Object.hasOwn(OPS, m.op)) {
    fail(new Error(`unknown store operation ${String(m.op)}`));
    return;
  }
  const isSync = m.op === 'sync';
  if (isSync) held.set(m.requestId, (held.get(m.requestId) ?? 0) + 1);
  let result: Promise<unknown>;
  const ctx: CallContext = { requestId: m.requestId };
  try {
    const fn = (store as unknown as Record<string, unknown>)[m.op] as (args: unknown, ctx: CallContext) => Promise<unknown>;
    result = fn.call(store, m.args ?? {}, ctx);
  } catch (err) {
    result = Promise.reject(err);
  }
  result
    .then(
      (value) =>
        send(
          ctx.heldMs
            ? { t: 'result', id: m.id, ok: true, value: value ?? null, heldMs: ctx.heldMs }
            : { t: 'result', id: m.id, ok: true, value: value ?? null },
        ),
      fail,
    )
    .finally(() => {
      if (!isSync) return;
      const n = held.get(m.requestId)! - 1;
      if (n === 0) held.delete(m.requestId);
      else held.set(m.requestId, n);
    });
}

/** CgiErrors with a code a client can receive reach it unchanged; anything else is logged and becomes a bare INTERNAL. */
function wireError(
  err: unknown,
  op: string,
): { code: 'INTERNAL'; message: string } | { code: ErrorCode; message: string; details?: unknown } {
  if (err instanceof CgiError && isErrorCode(err.code)) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  log.error('store operation failed', { op, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { code: 'INTERNAL', message: 'internal store error' };
}

reply({ t: 'ready' });
