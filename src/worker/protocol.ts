/**
 * Every message the host and a CGI worker exchange. The worker gets its code
 * and ports in workerData, loads the CGI, then answers requests until it is
 * terminated. On the wire each postMessage carries an array of these (see
 * Outbox): one hop per event-loop turn, not per message.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ErrorCode } from '../errors.js';
import type { RawBody } from '../sdk/context.js';

/**
 * Slots of the shared heartbeat array a worker writes and the host's watchdog
 * reads: the time of its last beat, its memory then, and the period it beats
 * at now (heartbeatMs while it works, slower while idle: worker/heartbeat.ts).
 */
export const BEAT = { time: 0, heapUsed: 1, external: 2, periodMs: 3 } as const;
export const BEAT_SLOTS = 4;

/** Which unit (a CGI, a consumer or a schedule) a worker runs, and what its ctx is made of. */
export interface LoadSpec {
  /** The unit's name (a CGI's name; a consumer's or schedule's file name). */
  cgi: string;
  /** Its CGI group: the kv space (bound to storePort by the host) and ctx.env's section. */
  group: string;
  file: string;
  version: string;
  code: string;
  storePort: MessagePort;
  /** ctx.env: cgiGroups.<group>.env with the CGIHOST_ENV_<GROUP>_<KEY> overrides applied. */
  env: Record<string, string>;
  /** cgiGroups.<group>.fetchAllow. */
  fetchAllow: string[];
  /** A consumer's or schedule's timeout from the config (cgis.<name>.timeoutMs), which wins over its definition's. */
  timeoutMs?: number;
  /** The host's default (cgiDefaults.timeoutMs). */
  defaultTimeoutMs: number;
  /** The store's SQLite file, for ctx.kv's reads and sync's on the worker's own read-only connection (absent: they go to the store thread). */
  sqliteFile?: string;
  /** The store's count of committed recalls (a sharedCounter): the worker's sync drops its cached message rows when it moves. */
  recalls?: Int32Array;
  /** The store's count of commits (a sharedCounter): the worker's read snapshot starts again when it moves. */
  commits?: Int32Array;
}

export interface WorkerData {
  /** Absent for a spare thread started ahead of need: it waits for a `load` message. */
  load?: LoadSpec;
  /** Float64Array over a SharedArrayBuffer, BEAT slots: readable while the worker is stuck. */
  heartbeat: SharedArrayBuffer;
  heartbeatMs: number;
}

export type UnitKind = 'cgi' | 'consumer' | 'schedule';

/** What the host learns of a CGI once it has loaded. */
export interface CgiMeta {
  kind: 'cgi';
  apiVersion: number;
  method: 'POST' | 'GET';
  auth: 'user' | 'none';
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Raw-body CGIs: accepted Content-Types and their byte limits. */
  rawTypes?: Record<string, number>;
}

export interface ConsumerMeta {
  kind: 'consumer';
  apiVersion: number;
  topic: string;
  concurrency: number;
  maxAttempts: number;
  /** Resolved: the config's, else the definition's, else the host default. */
  timeoutMs: number;
}

export interface ScheduleMeta {
  kind: 'schedule';
  apiVersion: number;
  cron: string;
  timeoutMs: number;
}

export type UnitMeta = CgiMeta | ConsumerMeta | ScheduleMeta;

/** One business metric update (ctx.metrics), summed per metric and label set over one event-loop turn. */
export interface BizUpdate {
  kind: 'counter' | 'gauge' | 'histogram';
  name: string;
  /** Sorted [name, value] pairs ('' key for none). */
  labels: Array<[string, string]>;
  /** counter: the increment; gauge: the value; histogram: the sum of observations. */
  value: number;
  /** histogram: observations per bucket (HISTOGRAM_BUCKETS, then +Inf). */
  counts?: number[];
}

/** ctx.fetch calls of one turn: host, status (HTTP status or refused/timeout/error), count. */
export type FetchCount = [host: string, status: string, n: number];

export interface WorkerRequest {
  t: 'req';
  id: number;
  requestId: string;
  /** POST: the JSON body text ('' for none). GET and raw-body CGIs: undefined. */
  json?: string;
  /** GET and raw-body CGIs: the query string's parameters. */
  query?: Record<string, string>;
  uid?: string;
  sessionId?: string;
  ip: string;
  headers: Record<string, string>;
  body?: RawBody;
}

export type HostToWorker =
  | WorkerRequest
  | { t: 'abort'; id: number }
  | { t: 'load'; spec: LoadSpec }
  /** A consumer's pool went live: subscribe to the topic. */
  | { t: 'consume' }
  /** A consumer is being retired: take no new job, answer 'drained' once none runs. */
  | { t: 'drain' }
  /** Run a schedule once (answered with 'ran'). */
  | { t: 'run'; id: number; scheduledAt: number }
  /** Run a consumer's handler on one payload, outside the queue (cgihost/testing; answered with 'ran'). */
  | { t: 'run-job'; id: number; payload: string; job: { jobId: string; topic: string; key?: string; attempt: number; enqueuedAt: number } };

export type WorkerToHost =
  | { t: 'ready'; meta: UnitMeta }
  | { t: 'load-error'; message: string }
  /**
   * A JSON answer, already serialised by the worker: the text, or for a large
   * one its UTF-8 bytes, transferred rather than copied (the main thread then
   * neither copies nor encodes it). `code` is set on errors; `heldMs` when the
   * request waited in a long-poll (time that is not service time).
   */
  | {
      t: 'res';
      id: number;
      status: number;
      json: string | Uint8Array;
      code?: ErrorCode;
      headers?: Record<string, string>;
      heldMs?: number;
    }
  | {
      t: 'raw';
      id: number;
      status: number;
      headers: Record<string, string>;
      file?: { path: string; start?: number; end?: number };
      body?: string | Uint8Array;
      heldMs?: number;
    }
  | { t: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown>; requestId?: string }
  | { t: 'ran'; id: number; ok: boolean; error?: string }
  | { t: 'drained' }
  | { t: 'tally'; metrics?: BizUpdate[]; fetches?: FetchCount[] };
