/**
 * What a CGI, a consumer and a schedule get as `ctx`: the same bindings for
 * all three (SPEC §8), plus what each kind has of its own.
 */
import type { StoreClient } from '../store/api.js';
import type { Kv } from './kv.js';
import type { Metrics } from './metrics.js';

export interface CgiLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface SendOptions {
  /** Run the job no sooner than this many milliseconds from now (up to a year). */
  delayMs?: number;
  /** Jobs with the same key are handled one at a time, in the order they were sent. */
  key?: string;
}

/**
 * `ctx.queue`: the async queue. A job is durable once `send` resolves and is
 * handled at least once by the consumer of its topic (a file exporting
 * `defineConsumer`), retried with backoff when it fails.
 *
 * @example
 * const { jobId } = await ctx.queue.send('moments.fanout', { postId, author: ctx.uid }, { key: ctx.uid });
 */
export interface Queue {
  /** `topic` is `[a-z][a-z0-9_.-]*`, shared by all groups; `payload` any JSON value of at most 64 KiB. */
  send(topic: string, payload: unknown, options?: SendOptions): Promise<{ jobId: string }>;
}

/** The WHATWG fetch init, plus the call's own timeout. */
export interface FetchInit extends RequestInit {
  /** Default 10 000 ms; the whole call, body included. */
  timeoutMs?: number;
}

/**
 * `ctx.fetch`: calls to other systems, with the WHATWG `fetch` signature. It
 * ends with the request (`ctx.signal`) or after its timeout (default 10 s),
 * reads at most 10 MiB of answer, and refuses loopback, private and
 * link-local addresses (checked on the address it connects to, after DNS)
 * unless `cgiGroups.<group>.fetchAllow` in the host's config lists them.
 *
 * @example
 * const res = await ctx.fetch('https://api.example.com/v1/check', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.env.API_KEY}` },
 *   body: JSON.stringify({ text }),
 *   timeoutMs: 3_000,
 * });
 * if (!res.ok) throw new Error(`the checker answered ${res.status}`);   // a 500 INTERNAL for the client
 */
export type CgiFetch = (input: string | URL | Request, init?: FetchInit) => Promise<Response>;

/** What every kind of unit gets. */
export interface UnitContext {
  /** The request's id for a CGI; `job:<jobId>` for a consumer; `schedule:<name>:<time>` for a schedule. */
  requestId: string;
  /** The file's name (a CGI's name, the consumer's or the schedule's). */
  cgi: string;
  /** The CGI group (the folder): the key space of ctx.kv and ctx.env's section. */
  group: string;
  version: string;
  /** Structured log lines, tagged with the unit, its version and the request id. */
  log: CgiLogger;
  /** Aborted when the request goes away or times out (a job or a run: when it times out). */
  signal: AbortSignal;
  /** The host's message store (accounts, inboxes, groups, media). */
  store: StoreClient;
  kv: Kv;
  queue: Queue;
  metrics: Metrics;
  fetch: CgiFetch;
  /**
   * The group's configuration: `cgiGroups.<group>.env` in the host's config,
   * each key overridden by the environment variable `CGIHOST_ENV_<GROUP>_<KEY>`
   * (upper case) when set. A group sees only its own.
   */
  env: Readonly<Record<string, string>>;
}

export interface RawBody {
  contentType: string;
  size: number;
  /** Lowercase hex SHA-256 of the bytes, computed while they streamed in. */
  sha256: string;
  /** A temp file the host removes after the request unless the CGI moved it away. */
  path: string;
}

/** A CGI's `ctx`: the request, and everything every unit gets. */
export interface CgiContext extends UnitContext {
  /** The authenticated user; set on every `auth: 'user'` CGI, and on `auth: 'none'` ones when a valid token was sent. */
  uid?: string;
  sessionId?: string;
  /** The client's address, as the socket saw it. */
  ip: string;
  /** A few request headers: content-type, range, if-none-match, if-range, user-agent. */
  headers: Record<string, string>;
  /** Only on raw-body CGIs: the uploaded body, already streamed to a temp file by the host. */
  body?: RawBody;
}

/** The job a consumer is handling. */
export interface JobInfo {
  jobId: string;
  topic: string;
  key?: string;
  /** 1 on the first try. */
  attempt: number;
  /** When it was sent (ms since the epoch). */
  enqueuedAt: number;
}

export interface ConsumerContext extends UnitContext {
  job: JobInfo;
}

export interface ScheduleContext extends UnitContext {
  /** The time this run was due (ms since the epoch). */
  scheduledAt: number;
  cron: string;
}
