/**
 * ctx.kv and ctx.queue in the worker: keys are checked and encoded here
 * (kv-keys.ts), values checked and turned into JSON text (json-value.ts), so
 * the store thread only compares bytes and stores text. Every write, a single
 * set or send included, is one atomic write.
 */
import { CgiError } from '../index.js';
import type { Kv, KvAtomic, KvEntry, KvKey, KvListOptions, KvPage, KvQueueOptions, KvSetOptions } from '../sdk/kv.js';
import type { Queue, SendOptions } from '../sdk/context.js';
import {
  ATOMIC_LIMITS,
  MAX_GET_MANY,
  MAX_LIST_LIMIT,
  type AtomicWrite,
  type KvEntry as StoredEntry,
  type KvListArgs,
  type QueueMessage,
} from '../store/platform-api.js';
import { toJsonText } from './json-value.js';
import { compareBytes, decodeKey, encodeKey, encodePrefix, invalidKey, justAfter, KEY_SPACE_END, prefixRange } from './kv-keys.js';
import type { StoreRpc } from './store-client.js';

/** Where reads go: the worker's own read-only connection when it has one (sqlite-reads.ts), else the store thread. */
export interface KvReadPath {
  get(a: { keys: Uint8Array[] }): Promise<Array<StoredEntry | null>> | Array<StoredEntry | null>;
  list(a: KvListArgs): Promise<StoredEntry[]> | StoredEntry[];
}

export function storeReads(rpc: StoreRpc): KvReadPath {
  return { get: (a) => rpc.platform('kvGet', a), list: (a) => rpc.platform('kvList', a) };
}

export function createKv(rpc: StoreRpc, reads: () => KvReadPath = () => storeReads(rpc)): Kv {
  const commit = async (w: AtomicWrite) => {
    const r = await rpc.platform('kvCommit', w);
    return r;
  };
  return {
    async get<T>(key: KvKey) {
      const [e] = await reads().get({ keys: [encodeKey(key)] });
      return e ? decoded<T>(e) : null;
    },
    async getMany<T>(keys: readonly KvKey[]) {
      if (!Array.isArray(keys)) invalidKey('getMany takes an array of keys');
      if (keys.length === 0) return [];
      if (keys.length > MAX_GET_MANY) invalid(`getMany takes at most ${MAX_GET_MANY} keys, not ${keys.length}`);
      const found = await reads().get({ keys: keys.map((k) => encodeKey(k)) });
      return found.map((e) => (e ? decoded<T>(e) : null));
    },
    async set(key, value, options) {
      const r = await commit({ checks: [], mutations: [setOf(key, value, options)], enqueues: [] });
      if (!r.ok) throw new Error('unreachable: a write without checks failed');
      return { version: r.version };
    },
    async delete(key) {
      await commit({ checks: [], mutations: [{ t: 'delete', key: encodeKey(key) }], enqueues: [] });
    },
    async list<T>(options: KvListOptions = {}) {
      return list<T>(reads(), options);
    },
    atomic() {
      return new Atomic(commit);
    },
  };
}

export function createQueue(rpc: StoreRpc): Queue {
  return {
    async send(topic, payload, options) {
      const r = await rpc.platform('kvCommit', { checks: [], mutations: [], enqueues: [messageOf(topic, payload, options)] });
      if (!r.ok) throw new Error('unreachable: a send without checks failed');
      return { jobId: r.jobIds[0]! };
    },
  };
}

class Atomic implements KvAtomic {
  private readonly w: AtomicWrite = { checks: [], mutations: [], enqueues: [] };
  private committed = false;

  constructor(private readonly run: (w: AtomicWrite) => Promise<{ ok: true; version: string } | { ok: false }>) {}

  check(key: KvKey, version: string | null): KvAtomic {
    if (version !== null && typeof version !== 'string') invalid('check() takes a version string or null');
    this.w.checks.push({ key: encodeKey(key), version });
    if (this.w.checks.length > ATOMIC_LIMITS.checks) invalid(`an atomic write takes at most ${ATOMIC_LIMITS.checks} checks`);
    return this;
  }

  set(key: KvKey, value: unknown, options?: KvSetOptions): KvAtomic {
    return this.mutate(setOf(key, value, options));
  }

  delete(key: KvKey): KvAtomic {
    return this.mutate({ t: 'delete', key: encodeKey(key) });
  }

  sum(key: KvKey, n: number): KvAtomic {
    if (typeof n !== 'number' || !Number.isFinite(n)) invalid('sum() takes a finite number');
    return this.mutate({ t: 'sum', key: encodeKey(key), n });
  }

  enqueue(topic: string, payload: unknown, options?: KvQueueOptions): KvAtomic {
    this.w.enqueues.push(messageOf(topic, payload, options));
    if (this.w.enqueues.length > ATOMIC_LIMITS.enqueues) invalid(`an atomic write takes at most ${ATOMIC_LIMITS.enqueues} enqueues`);
    return this;
  }

  async commit(): Promise<{ ok: true; version: string } | { ok: false }> {
    if (this.committed) invalid('this atomic write was committed already');
    this.committed = true;
    const r = await this.run(this.w);
    return r.ok ? { ok: true, version: r.version } : { ok: false };
  }

  private mutate(m: AtomicWrite['mutations'][number]): KvAtomic {
    this.w.mutations.push(m);
    if (this.w.mutations.length > ATOMIC_LIMITS.mutations) invalid(`an atomic write takes at most ${ATOMIC_LIMITS.mutations} mutations`);
    return this;
  }
}

async function list<T>(reads: KvReadPath, o: KvListOptions): Promise<KvPage<T>> {
  if (typeof o !== 'object' || o === null) invalid('list() takes an options object');
  const limit = o.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) invalid(`list(): limit must be 1 to ${MAX_LIST_LIMIT}`);
  let start: Uint8Array = new Uint8Array(0);
  let end: Uint8Array = KEY_SPACE_END;
  if (o.prefix !== undefined) ({ start, end } = prefixRange(encodePrefix(o.prefix)));
  if (o.start !== undefined) start = max(start, encodeKey(o.start, 'start'));
  if (o.end !== undefined) end = min(end, encodeKey(o.end, 'end'));
  const reverse = o.reverse === true;
  if (o.cursor !== undefined) {
    const after = cursorKey(o.cursor);
    if (compareBytes(after, start) < 0 || compareBytes(after, end) >= 0) invalid('list(): the cursor is not from this listing');
    if (reverse) end = after;
    else start = justAfter(after);
  }
  if (compareBytes(start, end) >= 0) return { entries: [] };
  // One more than asked: whether another page follows.
  const rows = await reads.list({ start, end, limit: limit + 1, reverse });
  const entries = rows.slice(0, limit).map((e) => decoded<T>(e));
  if (rows.length <= limit) return { entries };
  return { entries, cursor: Buffer.from(rows[limit - 1]!.key).toString('base64url') };
}

function cursorKey(cursor: unknown): Uint8Array {
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,3000}$/.test(cursor)) invalid('list(): the cursor is not one list() gave');
  const bytes = new Uint8Array(Buffer.from(cursor, 'base64url'));
  try {
    decodeKey(bytes);
  } catch {
    invalid('list(): the cursor is not one list() gave');
  }
  return bytes;
}

function setOf(key: KvKey, value: unknown, options: KvSetOptions | undefined): AtomicWrite['mutations'][number] {
  const m: AtomicWrite['mutations'][number] = { t: 'set', key: encodeKey(key), value: toJsonText(value, 'a ctx.kv value') };
  if (options?.expireInMs !== undefined) {
    if (!Number.isInteger(options.expireInMs) || options.expireInMs <= 0)
      invalid('expireInMs must be a positive whole number of milliseconds');
    m.expireInMs = options.expireInMs;
  }
  return m;
}

function messageOf(topic: string, payload: unknown, options: SendOptions | undefined): QueueMessage {
  if (typeof topic !== 'string') invalid('a topic must be a string');
  const m: QueueMessage = { topic, payload: toJsonText(payload, 'a job payload') };
  if (options?.delayMs !== undefined) m.delayMs = options.delayMs;
  if (options?.key !== undefined) m.key = options.key;
  return m;
}

function decoded<T>(e: StoredEntry): KvEntry<T> {
  return { key: decodeKey(e.key), value: JSON.parse(e.value) as T, version: e.version };
}

function max(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) >= 0 ? a : b;
}

function min(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) <= 0 ? a : b;
}

function invalid(message: string): never {
  throw new CgiError(400, 'INVALID_INPUT', `ctx.kv: ${message}`);
}
