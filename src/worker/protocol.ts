/**
 * Every message the host and a CGI worker exchange. The worker gets its code
 * and ports in workerData, loads the CGI, then answers requests until it is
 * terminated. On the wire each postMessage carries an array of these (see
 * Outbox): one hop per event-loop turn, not per message.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ErrorCode } from '../errors.js';
import type { RawBody } from '../index.js';

/** Slots of the shared heartbeat array a worker writes and the host's watchdog reads. */
export const BEAT = { time: 0, heapUsed: 1, external: 2 } as const;
export const BEAT_SLOTS = 3;

/** Which CGI a worker runs. */
export interface LoadSpec {
  cgi: string;
  file: string;
  version: string;
  code: string;
  storePort: MessagePort;
}

export interface WorkerData {
  /** Absent for a spare thread started ahead of need: it waits for a `load` message. */
  load?: LoadSpec;
  /** Float64Array over a SharedArrayBuffer, BEAT slots: readable while the worker is stuck. */
  heartbeat: SharedArrayBuffer;
  heartbeatMs: number;
}

/** What the host learns of a CGI once it has loaded. */
export interface CgiMeta {
  apiVersion: number;
  method: 'POST' | 'GET';
  auth: 'user' | 'none';
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Raw-body CGIs: accepted Content-Types and their byte limits. */
  rawTypes?: Record<string, number>;
}

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

export type HostToWorker = WorkerRequest | { t: 'abort'; id: number } | { t: 'load'; spec: LoadSpec };

export type WorkerToHost =
  | { t: 'ready'; meta: CgiMeta }
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
  | { t: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown>; requestId?: string };
