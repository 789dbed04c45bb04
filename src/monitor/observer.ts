/** What the HTTP front reports about each CGI request; metrics and the admin API listen. */
export interface RequestObserver {
  started(cgi: string): void;
  /**
   * `version` is '' when no version was chosen (quarantined, not loaded); `code` is 'OK' or an error code;
   * `seconds` is service time, `heldSeconds` the time the request waited in a long-poll (not in `seconds`).
   */
  finished(cgi: string, version: string, code: string, status: number, seconds: number, requestId?: string, heldSeconds?: number): void;
}

export const noObserver: RequestObserver = { started() {}, finished() {} };
