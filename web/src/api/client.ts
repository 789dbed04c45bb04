/**
 * Calls to the host's public HTTP API (SPEC §3): JSON POSTs to /cgi-bin/<name>,
 * the raw upload, and authenticated media downloads. Failures come back as
 * one of two errors: ApiError (the host answered with its error envelope) or
 * NetworkError (no answer: the host is down, the connection dropped, or no
 * answer came in time).
 */
import type { ApiInput, ApiOutput, CgiName } from './types.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class NetworkError extends Error {
  constructor(message = 'no connection to the server') {
    super(message);
    this.name = 'NetworkError';
  }
}

/** Worth trying again with the same request: no answer, a server-side failure, or a rate limit. */
export function isRetryable(e: unknown): boolean {
  return e instanceof NetworkError || (e instanceof ApiError && (e.status >= 500 || e.status === 429));
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

let token: string | undefined;
let onUnauthenticated: (() => void) | undefined;

/** The bearer token every call carries; `lost` runs when the host no longer accepts it. */
export function useToken(t: string | undefined, lost?: () => void): void {
  token = t;
  onUnauthenticated = lost;
}

function headers(extra: Record<string, string>): Record<string, string> {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function answer(res: Response): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch {
    throw new NetworkError('the connection dropped during the answer');
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, 'INTERNAL', `unexpected answer (${res.status})`);
  }
  if (res.ok) return body;
  const err = (body as { error?: { code?: string; message?: string; details?: unknown } }).error ?? {};
  const retryAfter = Number(res.headers.get('retry-after'));
  const e = new ApiError(
    res.status,
    err.code ?? 'INTERNAL',
    err.message ?? `HTTP ${res.status}`,
    err.details,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
  if (e.code === 'UNAUTHENTICATED' && token) onUnauthenticated?.();
  throw e;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new NetworkError();
  }
}

/** How long a call may go unanswered before it counts as lost (a dead connection never errors by itself). */
export const CALL_TIMEOUT_MS = 15_000;

/**
 * Runs one request (fetch and answer) under a deadline and the caller's signal: a
 * connection that went silent (a network switch, a sleeping laptop, a proxy
 * that drops packets) fails as a NetworkError, so sends are retried and sync
 * reconnects instead of waiting forever.
 */
async function withDeadline<T>(ms: number, outer: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  const forward = () => controller.abort();
  if (outer?.aborted) controller.abort();
  outer?.addEventListener('abort', forward);
  try {
    return await run(controller.signal);
  } catch (e) {
    if (timedOut) throw new NetworkError(`no answer from the server in ${Math.round(ms / 1000)} s`);
    throw e;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forward);
  }
}

/** POST /cgi-bin/<name> with a typed input; resolves the typed output. */
export function call<K extends CgiName>(
  name: K,
  input: ApiInput<K>,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<ApiOutput<K>> {
  return withDeadline(opts.timeoutMs ?? CALL_TIMEOUT_MS, opts.signal, async (signal) => {
    const res = await send(`/cgi-bin/${name}`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(input),
      signal,
    });
    return (await answer(res)) as ApiOutput<K>;
  });
}

/** uploadmedia: the file itself as the body, with its Content-Type; the deadline grows with the file (64 KiB/s at least). */
export function upload(file: Blob, contentType: string): Promise<ApiOutput<'uploadmedia'>> {
  return withDeadline(CALL_TIMEOUT_MS + (file.size / 65_536) * 1000, undefined, async (signal) => {
    const res = await send('/cgi-bin/uploadmedia', {
      method: 'POST',
      headers: headers({ 'content-type': contentType }),
      body: file,
      signal,
    });
    return (await answer(res)) as ApiOutput<'uploadmedia'>;
  });
}

/** getmedia's bytes: it needs the bearer token, so an <img src> cannot fetch it; the browser's HTTP cache still keeps it. */
export async function download(mediaId: string, signal?: AbortSignal): Promise<Blob> {
  const res = await send(`/cgi-bin/getmedia?mediaId=${encodeURIComponent(mediaId)}`, { headers: headers({}), signal });
  if (!res.ok) await answer(res);
  try {
    return await res.blob();
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new NetworkError('the connection dropped during the download');
  }
}
