/** What the HTTP front reports about each finished CGI request, beyond the slot's counters: the monitor keeps the server errors. */
export interface RequestObserver {
  /** `version` is '' when no version was chosen (quarantined, not loaded); `code` is 'OK' or an error code. */
  finished(cgi: string, version: string, code: string, status: number, seconds: number, requestId?: string): void;
}

export const noObserver: RequestObserver = { finished() {} };
