/**
 * Shared by the reload and canary tests: CGI sources that say which version
 * they are, and small probes of a running host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunningHost } from '../helpers/host.js';

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

export function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
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

/** Polls until the CGI answers 200 with `v`; resolves that probe. */
export async function until(host: RunningHost, name: string, v: string, ms = 5_000, token?: string): Promise<Probe> {
  const end = Date.now() + ms;
  let last: Probe | undefined;
  for (;;) {
    try {
      last = await probe(host, name, token);
      if (last.status === 200 && last.v === v) return last;
    } catch (e) {
      last = { status: -1, version: null, v: String(e), code: undefined, uid: undefined };
    }
    if (Date.now() > end) throw new Error(`${name} did not answer v=${v} within ${ms} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export async function adminCgis(host: RunningHost): Promise<{ cgis: any[]; refused: any[] }> {
  const r = await host.get('/_host/api/cgis');
  if (r.status !== 200) throw new Error(`GET /_host/api/cgis: ${r.status} ${r.text}`);
  return r.body;
}

export async function adminCgi(host: RunningHost, name: string): Promise<any> {
  return (await adminCgis(host)).cgis.find((c) => c.name === name);
}
/* eslint-enable @typescript-eslint/no-explicit-any */
