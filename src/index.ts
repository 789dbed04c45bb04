/**
 * The SDK that CGI authors import as `cgihost`. Inside a worker the host hands
 * this very module to the CGI, so `instanceof CgiError` holds across the
 * boundary.
 *
 * @example
 * // cgis/demo/echo.ts, served at POST /cgi-bin/echo
 * import { defineCgi, z, CgiError } from 'cgihost';
 *
 * export default defineCgi({
 *   apiVersion: 1,
 *   input: z.object({ text: z.string().max(100) }),
 *   output: z.object({ echo: z.string() }),
 *   async handler(input, ctx) {
 *     if (input.text === 'no') throw new CgiError(403, 'FORBIDDEN', 'not allowed');
 *     ctx.log.info('echoing', { length: input.text.length });
 *     return { echo: input.text };
 *   },
 * });
 * @module
 */
import { z } from 'zod';
import type { Logger } from './log.js';
import type { StoreClient } from './store/api.js';

/**
 * zod, the one the host validates with: a CGI's `input` and `output` must be
 * schemas made with this `z` (the host supplies it; nothing to install).
 *
 * @example
 * import { z } from 'cgihost';
 * const input = z.object({ to: z.string(), text: z.string().min(1).max(4096) });
 */
export { z };
export { CgiError, type CgiErrorOptions } from './errors.js';
/**
 * A code a client can receive (src/errors.ts, README's table).
 *
 * @example
 * const code: ErrorCode = 'NOT_GROUP_MEMBER';
 */
export type { ErrorCode } from './errors.js';
/**
 * The store's types, for CGIs that pass its results along.
 *
 * @example
 * import type { SyncMessage } from 'cgihost';
 * const texts = (messages: SyncMessage[]) => messages.filter((m) => m.type === 'text');
 */
export type * from './store/api.js';

/**
 * The host API versions this host can load. A CGI declaring another is refused at load.
 *
 * @example
 * SUPPORTED_API_VERSIONS.includes(1); // true
 */
export const SUPPORTED_API_VERSIONS: readonly number[] = [1];
/**
 * The newest host API version: what `apiVersion` a new CGI declares.
 *
 * @example
 * defineCgi({ apiVersion: HOST_API_VERSION, input, output, handler });
 */
export const HOST_API_VERSION = 1;

/**
 * `ctx.log`: structured records, each with the request's id, CGI and
 * version, written by the host as JSON lines (readable in `cgihost dev`).
 *
 * @example
 * ctx.log.warn('slow peer', { peer: input.to, ms: 1200 });
 * ctx.log.error('upstream failed', { error: (e as Error).stack });
 */
export type CgiLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/**
 * The second argument of a CGI's handler: who is calling and what the host
 * offers this request.
 *
 * @example
 * async handler(input, ctx) {
 *   const { seq } = await ctx.store.sendMessage({ from: ctx.uid!, to: input.to, type: 'text', content: input.text, clientMsgId: input.clientMsgId });
 *   ctx.log.info('sent', { seq });
 *   return { seq };
 * }
 */
export interface CgiContext {
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
   * The request's id: the client's `x-request-id` when it sent a valid one, else the host's. Every answer carries it.
   *
   * @example
   * throw new CgiError('INTERNAL', `see the log for ${ctx.requestId}`);
   */
  requestId: string;
  /**
   * The client's address: the socket's peer, or, when that peer is a proxy
   * listed in the config's `trustProxy`, the address it reports in
   * X-Forwarded-For (SPEC §10). IPv4 peers are plain `1.2.3.4`.
   *
   * @example
   * const key = `ip:${ctx.ip}`; // a per-client rate limit
   */
  ip: string;
  /**
   * This CGI's name (its file name, and its path under /cgi-bin/).
   *
   * @example
   * ctx.cgi; // 'sendmsg'
   */
  cgi: string;
  /**
   * The version serving this request: the first 12 hex digits of the SHA-256 of its compiled code (the answer's `x-cgi-version`).
   *
   * @example
   * ctx.version; // '3fa9c04e1b7d' (a canary has its own)
   */
  version: string;
  /**
   * A few request headers, lowercase: content-type, range, if-none-match, if-range, user-agent.
   *
   * @example
   * const range = ctx.headers.range; // 'bytes=0-1023' or undefined
   */
  headers: Record<string, string>;
  /**
   * Structured logging tied to this request (see CgiLogger).
   *
   * @example
   * ctx.log.info('group created', { groupId, members: members.length });
   */
  log: CgiLogger;
  /**
   * Aborted when the client goes away or the request times out: pass it to anything slow.
   *
   * @example
   * const res = await fetch(url, { signal: ctx.signal });
   */
  signal: AbortSignal;
  /**
   * The host's message store (accounts, inboxes, groups, media); every method answers asynchronously, and a failure is a CgiError with its code.
   *
   * @example
   * const group = await ctx.store.getGroup({ uid: ctx.uid!, groupId: input.groupId }); // 404 NO_SUCH_GROUP if none
   */
  store: StoreClient;
  /**
   * Only on raw-body CGIs: the uploaded body, already streamed to a temp file by the host.
   *
   * @example
   * const { contentType, size, sha256, path } = ctx.body!;
   */
  body?: RawBody;
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
 * Raw-bytes answer (media download): the host streams the file range or body with these headers.
 *
 * @example
 * const init: RawResponseInit = { status: 206, headers: { 'content-type': 'video/mp4' }, file: { path, start: 0, end: 1023 } };
 */
export interface RawResponseInit {
  status?: number;
  headers?: Record<string, string>;
  /** Stream this file from disk, optionally a byte range [start, end] inclusive. */
  file?: { path: string; start?: number; end?: number };
  body?: string | Uint8Array;
}

const RAW = Symbol.for('cgihost.rawResponse');
/**
 * What rawResponse() returns; a handler returns it instead of its JSON output.
 *
 * @example
 * const answer: RawResponse = rawResponse({ status: 304, headers: { etag } });
 */
export interface RawResponse extends RawResponseInit {
  readonly [RAW]: true;
}

/**
 * Answers with raw bytes instead of JSON (a download): the host streams
 * `file` (or a byte range of it) or sends `body`, with `status` (200 by
 * default) and `headers`; `output` is not checked. Errors still go through
 * CgiError, so they keep the JSON envelope.
 *
 * @example
 * const media = await ctx.store.openMedia({ uid: ctx.uid!, mediaId: input.mediaId });
 * return rawResponse({
 *   status: 200,
 *   headers: { 'content-type': media.contentType, 'content-length': String(media.size) },
 *   file: { path: media.path },
 * });
 */
export function rawResponse(init: RawResponseInit): RawResponse {
  return { ...init, [RAW]: true } as RawResponse;
}

/**
 * Whether a handler's result is a rawResponse() (the host's worker asks it).
 *
 * @example
 * isRawResponse(rawResponse({ body: 'ok' })); // true
 * isRawResponse({ ok: true }); // false
 */
export function isRawResponse(v: unknown): v is RawResponse {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[RAW] === true;
}

/** What every CGI definition declares. */
interface CgiCommon {
  /** The host API version this CGI was written against. */
  apiVersion: number;
  /** 'POST' (JSON body, the default) or 'GET' (query string). */
  method?: 'POST' | 'GET';
  /** 'user' (default): a Bearer token is required; 'none': public. */
  auth?: 'user' | 'none';
  timeoutMs?: number;
  /** JSON body limit in bytes (host default 64 KiB). */
  maxBodyBytes?: number;
}

/**
 * A CGI that takes JSON (POST) or a query string (GET) and answers JSON.
 *
 * @example
 * const def: JsonCgiDefinition<typeof input, typeof output> = { apiVersion: 1, method: 'GET', input, output, handler };
 */
export interface JsonCgiDefinition<I extends z.ZodType, O extends z.ZodType> extends CgiCommon {
  input: I;
  output: O;
  body?: undefined;
  handler(input: z.output<I>, ctx: CgiContext): Promise<z.input<O> | RawResponse> | z.input<O> | RawResponse;
}

/**
 * A CGI that takes the raw request body (an upload): `body.types` maps each
 * accepted Content-Type to its size limit in bytes. The host answers 415 for
 * any other type and 413 past the limit, without reading the rest. `input`
 * validates the query string.
 *
 * @example
 * export default defineCgi({
 *   apiVersion: 1,
 *   body: { kind: 'raw', types: { 'image/png': 10 * 2 ** 20 } },
 *   input: z.object({}),
 *   output: z.object({ sha256: z.string() }),
 *   handler: (_input, ctx) => ({ sha256: ctx.body.sha256 }),
 * });
 */
export interface RawBodyCgiDefinition<I extends z.ZodType, O extends z.ZodType> extends CgiCommon {
  body: { kind: 'raw'; types: Record<string, number> };
  input: I;
  output: O;
  handler(input: z.output<I>, ctx: CgiContext & { body: RawBody }): Promise<z.input<O> | RawResponse> | z.input<O> | RawResponse;
}

/**
 * Either kind of CGI definition.
 *
 * @example
 * const defs: CgiDefinition[] = [echo, upload];
 */
export type CgiDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> =
  JsonCgiDefinition<I, O> | RawBodyCgiDefinition<I, O>;

const DEFINED = Symbol.for('cgihost.cgi');

/**
 * Declares a CGI: the default export of `cgis/<group>/<name>.ts`, served at
 * `/cgi-bin/<name>`. The host validates `input` before the handler runs
 * (400 INVALID_INPUT) and `output` after it returns (500 INTERNAL, logged as
 * the CGI's fault); anything the handler throws other than a CgiError is a
 * 500 INTERNAL whose message reveals nothing.
 *
 * @example
 * import { defineCgi, z } from 'cgihost';
 *
 * export default defineCgi({
 *   apiVersion: 1,
 *   method: 'GET',
 *   auth: 'none',
 *   timeoutMs: 5_000,
 *   input: z.object({ name: z.string().max(64) }),
 *   output: z.object({ greeting: z.string() }),
 *   handler: (input) => ({ greeting: `hello, ${input.name}` }),
 * });
 */
export function defineCgi<I extends z.ZodType, O extends z.ZodType>(def: JsonCgiDefinition<I, O>): JsonCgiDefinition<I, O>;
export function defineCgi<I extends z.ZodType, O extends z.ZodType>(def: RawBodyCgiDefinition<I, O>): RawBodyCgiDefinition<I, O>;
export function defineCgi(def: CgiDefinition): CgiDefinition {
  Object.defineProperty(def, DEFINED, { value: true });
  return def;
}

/**
 * Whether a module's default export came from defineCgi() (the host checks it at load).
 *
 * @example
 * isDefinedCgi(defineCgi({ apiVersion: 1, input, output, handler })); // true
 * isDefinedCgi({ handler }); // false
 */
export function isDefinedCgi(v: unknown): v is CgiDefinition {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[DEFINED] === true;
}
