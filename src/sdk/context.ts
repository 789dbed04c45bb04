/**
 * What a CGI, a consumer and a schedule get as `ctx`: the same bindings for
 * all three (SPEC §8), plus what each kind has of its own.
 */
import type { Logger } from '../log.js';
import type { StoreClient } from '../store/api.js';
import type { Kv } from './kv.js';
import type { Metrics } from './metrics.js';

/**
 * `ctx.log`: structured records, each with the request's id, CGI and
 * version, written by the host as JSON lines (readable in `cgihost dev`).
 *
 * @example
 * ctx.log.warn('slow peer', { peer: input.to, ms: 1200 });
 * ctx.log.error('upstream failed', { error: (e as Error).stack });
 */
export type CgiLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

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

/** What every kind of unit (a CGI, a consumer, a schedule) gets. */
export interface UnitContext {
  /**
   * The request's id: the client's `x-request-id` when it sent a valid one, else the host's; every answer carries it.
   * A consumer's is `job:<jobId>`, a schedule's `schedule:<name>:<time>`.
   *
   * @example
   * throw new CgiError('INTERNAL', `see the log for ${ctx.requestId}`);
   */
  requestId: string;
  /**
   * The unit's name (its file name; a CGI's path under /cgi-bin/).
   *
   * @example
   * ctx.cgi; // 'sendmsg'
   */
  cgi: string;
  /**
   * The CGI group (the folder): the key space of ctx.kv and ctx.env's section.
   *
   * @example
   * ctx.group; // 'moments'
   */
  group: string;
  /**
   * The version serving: the first 12 hex digits of the SHA-256 of its compiled code (a CGI answer's `x-cgi-version`).
   *
   * @example
   * ctx.version; // '3fa9c04e1b7d' (a canary has its own)
   */
  version: string;
  /**
   * Structured logging tied to this request, job or run (see CgiLogger).
   *
   * @example
   * ctx.log.info('group created', { groupId, members: members.length });
   */
  log: CgiLogger;
  /**
   * Aborted when the client goes away or the request times out (a job or a run: when it times out): pass it to anything slow.
   *
   * @example
   * const res = await ctx.fetch(url, { signal: ctx.signal });
   */
  signal: AbortSignal;
  /**
   * The host's message store (accounts, inboxes, groups, media); every method answers asynchronously, and a failure is a CgiError with its code.
   *
   * @example
   * const group = await ctx.store.getGroup({ uid: ctx.uid!, groupId: input.groupId }); // 404 NO_SUCH_GROUP if none
   */
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

/**
 * A raw request body (an upload), received and hashed by the host before the handler runs.
 *
 * @example
 * const fh = await open(ctx.body.path, 'r'); // check the magic number, then keep or drop it
 */
export interface RawBody {
  contentType: string;
  size: number;
  /** Lowercase hex SHA-256 of the bytes, computed while they streamed in. */
  sha256: string;
  /** A temp file the host removes after the request unless the CGI moved it away. */
  path: string;
}

/**
 * The second argument of a CGI's handler: who is calling and what the host
 * offers this request, with everything every unit gets.
 *
 * @example
 * async handler(input, ctx) {
 *   const { seq } = await ctx.store.sendMessage({ from: ctx.uid!, to: input.to, type: 'text', content: input.text, clientMsgId: input.clientMsgId });
 *   ctx.log.info('sent', { seq });
 *   return { seq };
 * }
 */
export interface CgiContext extends UnitContext {
  /**
   * The authenticated user; set on every `auth: 'user'` CGI, and on `auth: 'none'` ones when a valid token was sent.
   *
   * @example
   * const me = ctx.uid!; // 'u3f2a…' on an auth: 'user' CGI
   */
  uid?: string;
  /**
   * The session of the Bearer token, alongside `uid`.
   *
   * @example
   * await ctx.store.revokeSession({ sessionId: ctx.sessionId! }); // logout
   */
  sessionId?: string;
  /**
   * The client's address, as the socket saw it.
   *
   * @example
   * const keys = [`user:${input.username}`, `ip:${ctx.ip}`]; // login throttling
   */
  ip: string;
  /**
   * A few request headers, lowercase: content-type, range, if-none-match, if-range, user-agent.
   *
   * @example
   * const range = ctx.headers.range; // 'bytes=0-1023' or undefined
   */
  headers: Record<string, string>;
  /**
   * Only on raw-body CGIs: the uploaded body, already streamed to a temp file by the host.
   *
   * @example
   * const { contentType, size, sha256, path } = ctx.body!;
   */
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
