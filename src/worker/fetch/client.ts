/**
 * ctx.fetch inside a worker: undici's fetch through an Agent whose connector
 * checks the address it connects to (after DNS, on every new connection, so
 * a name that later resolves to a private address is refused too). Bundled
 * on its own (dist/worker-fetch.cjs, undici inside) and loaded by a worker on
 * its first ctx.fetch: undici costs a thread some 10 MB, and most CGIs never
 * fetch.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { compileAllow, hostAllowed, refusedAddress, type FetchAllow } from '../../config/fetch-allow.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** Thrown (and counted as status "refused") for an address the group may not reach. */
export class FetchRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchRefusedError';
  }
}

/** Each call's outcome: the URL's host, and the HTTP status or refused / timeout / error. */
export type FetchRecord = (host: string, status: string) => void;

export interface GuardedFetchOptions {
  group: string;
  allow: readonly string[];
  record: FetchRecord;
}

export type GuardedFetch = (
  input: unknown,
  init: (RequestInit & { timeoutMs?: number }) | undefined,
  ctxSignal: AbortSignal,
) => Promise<Response>;

export function createGuardedFetch(o: GuardedFetchOptions): GuardedFetch {
  const allow = compileAllow(o.allow);
  const hint = `allow it in the config: "cgiGroups": {"${o.group}": {"fetchAllow": [...]}}`;
  const open = buildConnector({ timeout: DEFAULT_TIMEOUT_MS });
  const guarded = buildConnector({ timeout: DEFAULT_TIMEOUT_MS, lookup: guardedLookup(allow, hint) } as buildConnector.BuildOptions);
  const connect: buildConnector.connector = (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    if (hostAllowed(allow, host, port)) return open(opts, callback);
    if (isIP(host)) {
      const why = refusedAddress(allow, host);
      if (why) {
        queueMicrotask(() => callback(new FetchRefusedError(`ctx.fetch refused ${host}: ${why}; ${hint}`), null));
        return undefined as never;
      }
      return open(opts, callback);
    }
    return guarded(opts, callback);
  };
  const agent = new Agent({ connect, keepAliveTimeout: 4_000 });

  return async (input, init = {}, ctxSignal) => {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, signal: own, ...rest } = init;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('ctx.fetch: timeoutMs must be a positive number');
    const { url, init: fromRequest } = requestParts(input);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`ctx.fetch fetches http and https URLs only, not ${url.protocol}`);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any(own ? [timeout, ctxSignal, own] : [timeout, ctxSignal]);
    const host = url.host;
    let res: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      res = await undiciFetch(url, { ...fromRequest, ...(rest as object), signal, dispatcher: agent } as Parameters<typeof undiciFetch>[1]);
    } catch (e) {
      const refused = findRefusal(e);
      if (refused) {
        o.record(host, 'refused');
        throw refused;
      }
      if (timeout.aborted) {
        o.record(host, 'timeout');
        throw new DOMException(`ctx.fetch ${url.origin} timed out after ${timeoutMs} ms`, 'TimeoutError');
      }
      o.record(host, 'error');
      throw e;
    }
    o.record(host, String(res.status));
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (length > MAX_RESPONSE_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`ctx.fetch ${url.origin}: the answer is ${length} bytes, over the ${MAX_RESPONSE_BYTES}-byte limit`);
    }
    // The CGI sees the platform's own Response class, its body cut off past the limit.
    const body = res.body ? (res.body as unknown as ReadableStream<Uint8Array>).pipeThrough(limit(MAX_RESPONSE_BYTES, url.origin)) : null;
    const out = new Response(res.status === 204 || res.status === 304 ? null : body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers as unknown as HeadersInit,
    });
    Object.defineProperties(out, { url: { value: res.url }, redirected: { value: res.redirected } });
    return out;
  };
}

function requestParts(input: unknown): { url: URL; init: RequestInit } {
  if (typeof input === 'string' || input instanceof URL) return { url: new URL(input), init: {} };
  if (input && typeof input === 'object' && 'url' in input && typeof (input as Request).url === 'string') {
    const r = input as Request;
    const init: RequestInit & { duplex?: 'half' } = { method: r.method, headers: r.headers, redirect: r.redirect };
    if (r.body) {
      init.body = r.body;
      init.duplex = 'half';
    }
    return { url: new URL(r.url), init };
  }
  throw new TypeError('ctx.fetch takes a URL string, a URL or a Request');
}

function findRefusal(e: unknown): FetchRefusedError | undefined {
  for (let c: unknown = e, i = 0; c && i < 5; c = (c as { cause?: unknown }).cause, i++) if (c instanceof FetchRefusedError) return c;
  return undefined;
}

function guardedLookup(allow: FetchAllow, hint: string) {
  return (hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      const ok = addresses.filter((a) => refusedAddress(allow, a.address) === null);
      if (ok.length === 0) {
        const why = refusedAddress(allow, addresses[0]?.address ?? '') ?? 'no address';
        return callback(new FetchRefusedError(`ctx.fetch refused ${hostname}: it resolves to ${why}; ${hint}`));
      }
      if (options.all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}

function limit(max: number, origin: string): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) controller.error(new Error(`ctx.fetch ${origin}: the answer is over the ${max}-byte limit`));
      else controller.enqueue(chunk);
    },
  });
}
