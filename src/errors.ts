/**
 * The one registry of error codes (SPEC.md §3). Every error the host, the store
 * or a CGI produces carries one of these codes; test/errors.test.ts keeps this
 * table, the README and SPEC in agreement.
 */
export const ERROR_STATUS = {
  INVALID_JSON: 400,
  INVALID_INPUT: 400,
  MEDIA_KIND_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  BAD_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_GROUP_MEMBER: 403,
  NO_SUCH_CGI: 404,
  NO_SUCH_USER: 404,
  NO_SUCH_GROUP: 404,
  NO_SUCH_MEDIA: 404,
  NO_SUCH_JOB: 404,
  NO_SUCH_MOMENT: 404,
  METHOD_NOT_ALLOWED: 405,
  USERNAME_TAKEN: 409,
  IDEMPOTENCY_CONFLICT: 409,
  GROUP_FULL: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  CGI_CRASHED: 502,
  CGI_UNAVAILABLE: 503,
  CGI_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code);
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
