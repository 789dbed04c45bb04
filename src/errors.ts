/**
 * cgihost's one error type, CgiError, and the one registry of its codes.
 *
 * - ERROR_STATUS: every code a client can receive (SPEC.md §3), with its HTTP
 *   status, split into the client's fault (4xx: the request was wrong, the
 *   same request fails again) and the system's (5xx: the request may succeed
 *   later or elsewhere; an operator should look).
 * - HOST_ERROR_EXIT: codes that never reach an HTTP client (config, compile,
 *   load refusal, the single binary's start-up), with the exit code of the
 *   command they end.
 * - OUTCOME_CODES: the two `code` labels of cgihost_requests_total that are
 *   not errors (never sent to a client).
 *
 * test/errors.test.ts keeps these tables, the README and SPEC in agreement.
 */

/** The client's fault: the request was wrong, and sending it again fails again. */
const CLIENT_ERRORS = {
  /** The body of a JSON CGI is not JSON. */
  INVALID_JSON: 400,
  /** The input does not match the CGI's zod schema (the issues in `details`), or an upload was cut short. */
  INVALID_INPUT: 400,
  /** A media message names media of another kind (an image as voice…). */
  MEDIA_KIND_MISMATCH: 400,
  /** No valid Bearer token (a user CGI, or the admin API with an admin token configured). */
  UNAUTHENTICATED: 401,
  /** login: wrong username or password. */
  BAD_CREDENTIALS: 401,
  /** The caller may not do this (or the admin API from a non-loopback address without an admin token). */
  FORBIDDEN: 403,
  /** The caller is not a member of the group. */
  NOT_GROUP_MEMBER: 403,
  /** login with the right password for an account an administrator disabled (SPEC §10). */
  ACCOUNT_DISABLED: 403,
  /** SPEC §6: a 1:1 message (or contact request) to someone who blocks the sender. */
  BLOCKED: 403,
  /** SPEC §6: with messaging.contactsOnly, a 1:1 message to someone who is not a contact. */
  NOT_A_CONTACT: 403,
  /** SPEC §6: recallmsg after messaging.recallWindowMs (default 2 minutes) has passed. */
  RECALL_WINDOW_PASSED: 403,
  /** No CGI (or admin endpoint) is served at that path. */
  NO_SUCH_CGI: 404,
  NO_SUCH_USER: 404,
  NO_SUCH_GROUP: 404,
  /** The media does not exist, or the caller may not read it. */
  NO_SUCH_MEDIA: 404,
  /** The admin API: a dead letter to retry that is no dead letter (our addition to SPEC §3). */
  NO_SUCH_JOB: 404,
  /** Moments: a post that does not exist, or that the caller may not see (our addition to SPEC §3). */
  NO_SUCH_MOMENT: 404,
  /** SPEC §6: recallmsg names an unknown msgId. */
  NO_SUCH_MESSAGE: 404,
  /** The CGI takes the other method (the answer has `allow`). */
  METHOD_NOT_ALLOWED: 405,
  USERNAME_TAKEN: 409,
  /** The same clientMsgId was used for a different message. */
  IDEMPOTENCY_CONFLICT: 409,
  /** The group would pass groups.maxMembers. */
  GROUP_FULL: 409,
  /** SPEC §10: a sync whose syncKey is past the inbox's last seq (details.lastSeq). */
  SYNC_KEY_AHEAD: 409,
  /** The body is over its limit; answered without reading it whole. */
  PAYLOAD_TOO_LARGE: 413,
  /** A raw-body CGI does not take this Content-Type, or the bytes are not what it says. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** getmedia: the Range lies outside the file (our addition to SPEC §3). */
  RANGE_NOT_SATISFIABLE: 416,
  /** Too many tries (logins), messages (limits.sendPerMinute) or connections from one address; always with `retry-after`. */
  RATE_LIMITED: 429,
} as const;

/** The system's fault: nothing is wrong with the request; it may succeed later. */
const SYSTEM_ERRORS = {
  /** A CGI's own exception (or output failing its schema), or the host's; the message reveals nothing. */
  INTERNAL: 500,
  /** The worker serving the request died. */
  CGI_CRASHED: 502,
  /** The CGI is not loaded, failed to load, or is quarantined. */
  CGI_UNAVAILABLE: 503,
  /** The database or the media folder cannot be written (disk full, read-only, I/O error): writes fail at once, reads go on (SPEC §10). */
  STORE_UNAVAILABLE: 503,
  /** The CGI did not answer within its timeoutMs. */
  CGI_TIMEOUT: 504,
} as const;

/** Every code a client can receive, with its HTTP status (SPEC §3). */
export const ERROR_STATUS = { ...CLIENT_ERRORS, ...SYSTEM_ERRORS } as const;

/**
 * A code a client can receive.
 *
 * @example
 * const code: ErrorCode = 'NOT_GROUP_MEMBER'; // ERROR_STATUS[code] === 403
 */
export type ErrorCode = keyof typeof ERROR_STATUS;

export const CLIENT_ERROR_CODES = Object.keys(CLIENT_ERRORS) as ReadonlyArray<keyof typeof CLIENT_ERRORS>;
export const SYSTEM_ERROR_CODES = Object.keys(SYSTEM_ERRORS) as ReadonlyArray<keyof typeof SYSTEM_ERRORS>;

/**
 * Errors that never reach an HTTP client, with the exit code of the command
 * they end (printed as `cgihost: <message>`).
 */
export const HOST_ERROR_EXIT = {
  /** host.config.json or a command-line flag is invalid; the message names the key. */
  CONFIG_INVALID: 2,
  /** A CGI file does not compile (`details`: file, line). The host refuses the file and keeps serving; `cgihost check` exits 1. */
  CGI_COMPILE_FAILED: 1,
  /** A CGI threw at load, exports no valid defineCgi, or declares an unsupported apiVersion. Refused like a compile error. */
  CGI_REFUSED: 1,
  /** The single binary cannot write its runtime files to its cache dir. */
  CACHE_DIR_UNWRITABLE: 1,
  /** The single binary's cache dir is on a filesystem mounted noexec. */
  CACHE_DIR_NOEXEC: 1,
  /** The machine's glibc is older than the SQLite addon needs. */
  GLIBC_TOO_OLD: 1,
  /** The SQLite addon failed to load for another reason (the loader's words follow). */
  ADDON_LOAD_FAILED: 1,
  /** dist/sea/main.cjs run outside the binary without CGIHOST_SEA_ASSETS. */
  NOT_A_BINARY: 1,
  /** `cgihost migrate-store`: the data dir's database is open in another process (a running host); it copies a stopped install. */
  STORE_IN_USE: 1,
  /**
   * `cgihost migrate-store` copied nothing (the message says why): no database in the data dir or not at this build's
   * latest migration, the target database unreachable or not empty, or a row PostgreSQL refused (the copy is rolled back).
   */
  MIGRATE_STORE_FAILED: 1,
} as const;

/** A code of an error that never reaches a client. */
export type HostErrorCode = keyof typeof HOST_ERROR_EXIT;

/**
 * `code` labels of cgihost_requests_total (and the admin API's counts) that
 * are not errors; every other label is an ErrorCode.
 */
export const OUTCOME_CODES = [
  /** Answered with a status below 400 (200, 206, 304…). */
  'OK',
  /** The client went away before its answer (counted with status 499, nginx's convention). */
  'CLIENT_CLOSED',
] as const;

/** How a CGI request ended, as the monitor counts it. */
export type RequestOutcome = ErrorCode | (typeof OUTCOME_CODES)[number];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code);
}

export function isHostErrorCode(code: unknown): code is HostErrorCode {
  return typeof code === 'string' && Object.hasOwn(HOST_ERROR_EXIT, code);
}

/**
 * The optional last argument of CgiError.
 *
 * @example
 * throw new CgiError('RATE_LIMITED', 'too many tries', { retryAfterSec: 30 }, { headers: { 'x-limit': '5' } });
 */
export interface CgiErrorOptions {
  /** Headers sent with the error answer (`content-range` on a 416, say); x-request-id and x-cgi-version win over them. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error with a stable code from the registry above: thrown by a CGI, the
 * host, the store or the CLI. A CGI that throws it answers
 * `{"error": {code, message, details?, requestId}}` with `status`.
 *
 * @example
 * // The SPEC's form: status, code, message, details?
 * throw new CgiError(403, 'FORBIDDEN', 'not allowed');
 * // The status derived from the code (409), with details:
 * throw new CgiError('USERNAME_TAKEN', 'this username is taken', { username });
 * // With headers on the answer:
 * throw new CgiError('RANGE_NOT_SATISFIABLE', 'the range is outside the file', undefined, {
 *   headers: { 'content-range': `bytes *\/${size}` },
 * });
 */
export class CgiError extends Error {
  /** The HTTP status of the answer (the code's own; 500 for a code that never reaches a client). */
  readonly status: number;
  readonly code: ErrorCode | HostErrorCode;
  /** Sent to the client as `error.details`: zod issues, limits, the ids that were not found. */
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(status: number, code: ErrorCode, message: string, details?: unknown, options?: CgiErrorOptions);
  constructor(code: ErrorCode | HostErrorCode, message: string, details?: unknown, options?: CgiErrorOptions);
  constructor(
    ...args: [number, ErrorCode, string, unknown?, CgiErrorOptions?] | [ErrorCode | HostErrorCode, string, unknown?, CgiErrorOptions?]
  ) {
    const [status, code, message, details, options] =
      typeof args[0] === 'number'
        ? (args as [number, ErrorCode, string, unknown?, CgiErrorOptions?])
        : [undefined, ...(args as [ErrorCode | HostErrorCode, string, unknown?, CgiErrorOptions?])];
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CgiError';
    this.code = code;
    this.status = status ?? (isErrorCode(code) ? ERROR_STATUS[code] : 500);
    if (details !== undefined) this.details = details;
    if (options?.headers) this.headers = options.headers;
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown; requestId: string };
}

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown): ErrorBody {
  const error: ErrorBody['error'] = { code, message, requestId };
  if (details !== undefined) error.details = details;
  return { error };
}
