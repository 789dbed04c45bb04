/**
 * The last server errors, for the dashboard: 5xx answers and error-level
 * logs. A CGI that throws logs the error and then answers 500; both arrive
 * here with the same requestId and become one entry.
 */
import type { Level } from '../log.js';

export interface RecentError {
  at: number;
  cgi?: string;
  version?: string;
  requestId?: string;
  /** Set once the request was answered: its error code and status. */
  code?: string;
  status?: number;
  message: string;
}

const CODE_TEXT: Record<string, string> = {
  CGI_CRASHED: 'the worker serving the request died',
  CGI_TIMEOUT: 'the CGI did not answer in time',
  CGI_UNAVAILABLE: 'the CGI is not loaded, failed to load, or is quarantined',
  INTERNAL: 'internal error',
};

export class RecentErrors {
  /** Oldest first. */
  private readonly items: RecentError[] = [];

  constructor(private readonly max = 50) {}

  /** A request answered with a 5xx. */
  request(cgi: string, version: string, code: string, status: number, requestId?: string): void {
    if (requestId) {
      // The log line of the same request came first (the worker posts it before the answer).
      for (let i = this.items.length - 1; i >= 0 && i >= this.items.length - 20; i--) {
        const e = this.items[i]!;
        if (e.requestId === requestId && e.code === undefined) {
          e.code = code;
          e.status = status;
          return;
        }
      }
    }
    this.push({ at: Date.now(), cgi, version: version || undefined, requestId, code, status, message: CODE_TEXT[code] ?? code });
  }

  /** An error-level log record (alerts have their own list and are left out). */
  logged(_level: Level, msg: string, fields: Record<string, unknown> | undefined): void {
    if (fields?.alert !== undefined) return;
    const error = typeof fields?.error === 'string' ? firstLine(fields.error) : undefined;
    this.push({
      at: Date.now(),
      cgi: str(fields?.cgi),
      version: str(fields?.version),
      requestId: str(fields?.requestId),
      message: error ? `${msg}: ${error}` : msg,
    });
  }

  /** Newest first. */
  list(limit = this.max): RecentError[] {
    return this.items.slice(-limit).reverse();
  }

  private push(e: RecentError): void {
    this.items.push(e);
    if (this.items.length > this.max) this.items.shift();
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).slice(0, 500);
}
