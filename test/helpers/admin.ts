/** The admin API's view of the CGIs (GET /_host/api/cgis, served to loopback clients when no admin token is set). */
import type { RunningHost } from './host.js';

export interface CgiSummary {
  name: string;
  group: string;
  file: string;
  version: string | null;
  state: 'loading' | 'ready' | 'failed' | 'quarantined';
  canaryPercent: number;
  canaryVersion: string | null;
  restarts: number;
  inflight: number;
  lastError: { message: string; file: string; line?: number; at: number } | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [more: string]: any;
}

export interface CgisAnswer {
  cgis: CgiSummary[];
  refused: Array<{ message: string; file: string; line?: number; at: number }>;
}

export async function adminCgis(host: RunningHost): Promise<CgisAnswer> {
  const res = await host.get('/_host/api/cgis');
  if (res.status !== 200) throw new Error(`/_host/api/cgis answered ${res.status}: ${res.text}`);
  return res.body as CgisAnswer;
}

/** The CGI's summary, or undefined while it is not listed (yet, or any more). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function adminCgi(host: RunningHost, name: string): Promise<any> {
  return (await adminCgis(host)).cgis.find((c) => c.name === name);
}

/** The CGI's summary; throws when it is not listed. */
export async function cgiSummary(host: RunningHost, name: string): Promise<CgiSummary> {
  const found = (await adminCgis(host)).cgis.find((c) => c.name === name);
  if (!found) throw new Error(`${name} is not in /_host/api/cgis`);
  return found;
}
