/**
 * Shared by the reload and canary tests: CGI sources that say which version
 * they are, and small probes of a running host.
 */
import { join } from 'node:path';
import { waitFor, type RunningHost } from '../helpers/index.js';

/** Hot reload must take effect within this (SPEC §5); asserted where that is the point of the test. */
export const RELOAD_BOUND_MS = 1_000;
/**
 * Where a test is about something else (what serves after a save, not how
 * fast), it waits this long: on this shared 2-core machine a fresh worker can
 * take over half a second to start when the load average is high.
 */
export const SETTLE_MS = 5_000;

export interface VersionCgi {
  /** What the handler answers as `v`: the behaviour that tells versions apart. */
  v: string;
  auth?: 'none' | 'user';
  /** Extra lines at module top level (imports, a throw, ...). */
  head?: string;
  /** An expression for `v` instead of the literal (may use helpers imported in `head`). */
  vExpr?: string;
  apiVersion?: number;
  /** A handler body that throws, for failing-canary tests. */
  throws?: boolean;
}

/**
 * A CGI answering `{v, uid?}`; with `{sleepMs}` in the input it waits that
 * long first (the in-flight test).
 */
export function versionCgi(o: VersionCgi): string {
  const vExpr = o.vExpr ?? JSON.stringify(o.v);
  return `import { defineCgi, z } from 'cgihost';
${o.head ?? ''}
export default defineCgi({
  apiVersion: ${o.apiVersion ?? 1},
  auth: '${o.auth ?? 'none'}',
  input: z.object({ sleepMs: z.number().int().min(0).max(5000).optional() }),
  output: z.object({ v: z.string(), uid: z.string().optional() }),
  async handler(input, ctx) {
    if (input.sleepMs) await new Promise((r) => setTimeout(r, input.sleepMs));
    ${o.throws ? "throw new Error('canary failure ' + " + vExpr + ');' : ''}
    return { v: ${vExpr}, ...(ctx.uid ? { uid: ctx.uid } : {}) };
  },
});
`;
}

export function cgiPath(host: RunningHost, rel: string): string {
  return join(host.cgisDir, rel);
}

export interface Probe {
  status: number;
  version: string | null;
  v: string | undefined;
  code: string | undefined;
  uid: string | undefined;
}

/** One call of a version CGI: status, x-cgi-version and the `v` it answered. */
export async function probe(host: RunningHost, name: string, token?: string, body: unknown = {}): Promise<Probe> {
  const r = await host.post(name, body, { token });
  return {
    status: r.status,
    version: r.headers.get('x-cgi-version'),
    v: r.body?.v,
    code: r.body?.error?.code,
    uid: r.body?.uid,
  };
}

/** Polls until the CGI answers 200 with `v`; resolves that probe (the timeout's message shows the last one). */
export function untilServes(host: RunningHost, name: string, v: string, ms = 5_000, token?: string): Promise<Probe> {
  return waitFor(
    async () => {
      const last = await probe(host, name, token);
      if (last.status === 200 && last.v === v) return last;
      throw new Error(`last: ${JSON.stringify(last)}`);
    },
    ms,
    { everyMs: 10, what: `${name} answering v=${v}` },
  );
}
