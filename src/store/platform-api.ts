/**
 * The store operations behind ctx.kv and ctx.queue (SPEC §8), as a worker's
 * port calls them. They are defined on bytes and JSON text, not on SQLite:
 * keys arrive encoded (src/worker/kv-keys.ts; any engine that compares bytes
 * keeps their order), values and payloads as JSON text the worker checked.
 * The key space is not an argument: the store takes it from the port, which
 * the host bound to the worker's CGI group when it connected it.
 */

export interface KvEntry {
  key: Uint8Array;
  /** JSON text. */
  value: string;
  version: string;
}

export interface KvListArgs {
  /** Inclusive. */
  start: Uint8Array;
  /** Exclusive. */
  end: Uint8Array;
  limit: number;
  reverse: boolean;
}

export type KvMutation =
  | { t: 'set'; key: Uint8Array; value: string; expireInMs?: number }
  | { t: 'delete'; key: Uint8Array }
  | { t: 'sum'; key: Uint8Array; n: number };

export interface QueueMessage {
  topic: string;
  /** JSON text. */
  payload: string;
  delayMs?: number;
  key?: string;
}

export interface AtomicWrite {
  /** Each key's current version must be this one (null: the key must not exist), or nothing is written. */
  checks: Array<{ key: Uint8Array; version: string | null }>;
  mutations: KvMutation[];
  enqueues: QueueMessage[];
}

export type CommitResult = { ok: true; version: string; jobIds: string[] } | { ok: false };

export interface PlatformApi {
  kvGet(a: { keys: Uint8Array[] }): Array<KvEntry | null>;
  kvList(a: KvListArgs): KvEntry[];
  kvCommit(a: AtomicWrite): CommitResult;
}

export type PlatformOp = keyof PlatformApi;

/** Who a worker's port belongs to: its kv space and, for a consumer, its name. */
export interface PortOwner {
  group: string;
  unit: string;
}

/** Limits of one atomic write (a single set is one too). */
export const ATOMIC_LIMITS = { checks: 100, mutations: 1000, enqueues: 1000 } as const;
export const MAX_GET_MANY = 100;
export const MAX_LIST_LIMIT = 1000;
export const MAX_KEY_BYTES = 2048;
export const MAX_VALUE_BYTES = 64 * 1024;
/** The host's own topics: no CGI may send to them or consume them. */
export const RESERVED_TOPICS: ReadonlySet<string> = new Set(['fanout', 'webhook']);
export const TOPIC = /^[a-z][a-z0-9_.-]*$/;
export const MAX_TOPIC_LENGTH = 128;
export const MAX_JOB_KEY_LENGTH = 256;
/** A job may wait at most this long before its first run. */
export const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;
