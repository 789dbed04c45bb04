/** What the HTTP front reports about each CGI request; metrics and the admin API listen. */
export interface RequestObserver {
  started(cgi: string): void;
  finished(cgi: string, version: string, code: string, status: number, seconds: number): void;
}

export const noObserver: RequestObserver = { started() {}, finished() {} };
