import type { RequestOutcome } from '../errors.js';

/** What the HTTP front reports about each CGI request; metrics and the admin API listen. */
export interface RequestObserver {
  started(cgi: string): void;
  /**
   * `version` is '' when no version was chosen (quarantined, not loaded);
   * `seconds` is service time, `heldSeconds` the time the request waited in a long-poll (not in `seconds`).
   */
  finished(
    cgi: string,
    version: string,
    code: RequestOutcome,
    status: number,
    seconds: number,
    requestId?: string,
    heldSeconds?: number,
  ): void;
}
