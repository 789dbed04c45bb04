/**
 * Calls to the host's public HTTP API (SPEC §3): JSON POSTs to /cgi-bin/<name>,
 * the raw upload, and authenticated media downloads. Failures come back as
 * one of two errors: ApiError (the host answered with its error envelope) or
 * NetworkError (no answer: the host is down, the connection dropped).
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

/** POST /cgi-bin/<name> with a typed input; resolves the typed output. */
export async function call<K extends CgiName>(name: K, input: ApiInput<K>, opts: { signal?: AbortSignal } = {}): Promise<ApiOutput<K>> {
  const res = await send(`/cgi-bin/${name}`, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(input),
    signal: opts.signal,
  });
  return (await answer(res)) as ApiOutput<K>;
}

/** uploadmedia: the file itself as the body, with its Content-Type. */
export async function upload(file: Blob, contentType: string): Promise<ApiOutput<'uploadmedia'>> {
  const res = await send('/cgi-bin/uploadmedia', { method: 'POST', headers: headers({ 'content-type': contentType }), body: file });
  return (await answer(res)) as ApiOutput<'uploadmedia'>;
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
