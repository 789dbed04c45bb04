import { ERROR_STATUS, type ErrorCode } from '../errors.js';

/** An error the host itself answers with (not a CGI's): it carries its §3 code. */
export class HostError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HostError';
    this.status = ERROR_STATUS[code];
  }
}
