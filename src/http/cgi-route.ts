/** `/cgi-bin/<name>`: from an HTTP request to a CGI's worker and back. */
import { createReadStream, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import { CgiError, isErrorCode, type RequestOutcome } from '../errors.js';
import type { Registry } from '../host/registry.js';
import type { WorkerPool } from '../host/worker-pool.js';
import type { RawBody } from '../index.js';
import type { Logger } from '../log.js';
import type { RequestObserver } from '../monitor/observer.js';
import type { WorkerReply } from '../worker/cgi-worker.js';
import type { WorkerRequest } from '../worker/protocol.js';
import { readText, receiveRaw } from './body.js';
import { clientAddress } from './client-address.js';
import { sendError, sendJson } from './respond.js';

type Identity = { uid: string; sessionId: string };

export interface TokenResolver {
  /** The session of a bearer token, or null; a promise when it must ask a database first (PostgreSQL's cache missed). */
  authenticate(token: string): Identity | null | Promise<Identity | null>;
}

export interface CgiRouteDeps {
  config: Config;
  registry: Registry;
  tokens: TokenResolver;
  log: Logger;
  observer: RequestObserver;
  tmpDir: string;
}

/** What serving a request learnt about it, for the access log. */
export interface RequestSeen {
  cgi?: string;
  version?: string;
  uid?: string;
  /** Time held in a long-poll (part of the request's time, not of its service time). */
  heldMs?: number;
}

/** The request headers a CGI sees in ctx.headers. */
const PASSED_HEADERS = ['content-type', 'range', 'if-none-match', 'if-range', 'user-agent'] as const;

export async function serveCgi(
  deps: CgiRouteDeps,
  name: string,
  query: string,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  seen: RequestSeen = {},
): Promise<void> {
  const started = performance.now();
  const slot = deps.registry.get(name);
  const headers: Record<string, string> = { 'x-request-id': requestId };
  // Consumers and schedules live in the cgis folder too, but HTTP does not reach them.
  if (!slot || slot.kind !== 'cgi') return sendError(res, 'NO_SUCH_CGI', `no CGI is named "${name}"`, requestId);
  seen.cgi = name;
  slot.started();
  let d: WorkerPool | undefined;
  let status = 500;
  let code: RequestOutcome = 'INTERNAL';
  let body: RawBody | undefined;
  try {
    const found = authenticate(deps.tokens, req.headers.authorization);
    const auth = found instanceof Promise ? await found : found;
    seen.uid = auth?.uid;
    d = slot.route(auth?.uid);
    headers['x-cgi-version'] = seen.version = d.version;
    const meta = d.meta;
    if (meta.kind !== 'cgi') throw new CgiError('CGI_UNAVAILABLE', `${name} is not a CGI`);
    if (req.method !== meta.method && !(meta.method === 'GET' && req.method === 'HEAD')) {
      throw new CgiError('METHOD_NOT_ALLOWED', `${name} takes ${meta.method}`);
    }
    if (meta.auth === 'user' && !auth) throw new CgiError('UNAUTHENTICATED', 'a valid Bearer token is required');
    const wreq: Omit<WorkerRequest, 't' | 'id'> = {
      requestId,
      uid: auth?.uid,
      sessionId: auth?.sessionId,
      ip: clientAddress(req),
      headers: pickHeaders(req),
    };
    if (meta.rawTypes) {
      wreq.query = parseQuery(query);
      body = wreq.body = await receiveRaw(req, meta.rawTypes, deps.tmpDir);
    } else if (meta.method === 'GET') {
      wreq.query = parseQuery(query);
    } else {
      wreq.json = await readText(req, meta.maxBodyBytes ?? deps.config.limits.jsonBodyBytes);
    }
    // The version may have been swapped out while the body was arriving: its workers stop once idle.
    if (d.retired) {
      d = slot.route(auth?.uid);
      headers['x-cgi-version'] = seen.version = d.version;
    }
    const worker = await d.pick();
    const reply = await worker.dispatch(wreq, slot.limits().timeoutMs, (id) =>
      res.once('close', () => {
        if (!res.writableFinished) worker.cancel(id);
      }),
    );
    status = reply.status;
    code = reply.t === 'res' && reply.code ? reply.code : status < 400 ? 'OK' : 'INTERNAL';
    if (reply.heldMs) seen.heldMs = reply.heldMs;
    await send(res, reply, headers);
  } catch (e) {
    if (e instanceof CgiError && isErrorCode(e.code)) {
      status = e.status;
      code = e.code;
      if (e.code === 'METHOD_NOT_ALLOWED' && d?.meta.kind === 'cgi') headers.allow = d.meta.method;
      const unread = !req.complete;
      sendError(res, e.code, e.message, requestId, { details: e.details, headers: e.headers ? { ...e.headers, ...headers } : headers });
      // Answered before the body was read (413, 401, 415…).
      if (unread) discardRest(req, res);
    } else if (res.destroyed) {
      status = 499;
      code = 'CLIENT_CLOSED';
    } else {
      deps.log.error('request failed in the host', {
        cgi: name,
        version: d?.version,
        requestId,
        ip: clientAddress(req),
        error: (e as Error).stack,
      });
      sendError(res, 'INTERNAL', 'internal error', requestId, { headers });
    }
  } finally {
    if (body) rmSync(body.path, { force: true });
    // Latency is service time: a long-poll's wait for an entry is not the host being slow (it is measured apart).
    const heldMs = seen.heldMs ?? 0;
    const ms = performance.now() - started - heldMs;
    slot.finished(d, status, code, ms, heldMs);
    deps.observer.finished(name, d?.version ?? '', code, status, ms / 1000, requestId, heldMs / 1000);
  }
}

/**
 * Closing a socket while the client is still sending makes the kernel answer
 * with a reset, which can destroy the error answer before the client reads it
 * (RFC 9112 §9.6). So the rest of the body is read and thrown away; a client
 * still sending after 2 s is cut off.
 */
function discardRest(req: IncomingMessage, res: ServerResponse): void {
  const timer = setTimeout(() => req.socket.destroy(), 2_000);
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  res.once('finish', () => {
    req.removeAllListeners('data');
    req.on('data', () => {});
    req.resume();
  });
}

function authenticate(tokens: TokenResolver, header: string | undefined): ReturnType<TokenResolver['authenticate']> {
  if (!header || !header.startsWith('Bearer ')) return null;
  const token = header.slice(7).trim();
  if (token.length < 16 || token.length > 256) return null;
  return tokens.authenticate(token);
}

function pickHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PASSED_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

function parseQuery(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (query) for (const [k, v] of new URLSearchParams(query)) out[k] = v;
  return out;
}

async function send(res: ServerResponse, reply: WorkerReply, headers: Record<string, string>): Promise<void> {
  if (reply.t === 'res') return sendJson(res, reply.status, reply.json, reply.headers ? { ...reply.headers, ...headers } : headers);
  res.statusCode = reply.status;
  for (const k in reply.headers) res.setHeader(k, reply.headers[k]!);
  for (const k in headers) res.setHeader(k, headers[k]!);
  if (reply.file) {
    const { path, start, end } = reply.file;
    await new Promise<void>((resolve) => {
      const s = createReadStream(path, { start, end });
      s.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        s.destroy();
        resolve();
      });
      s.pipe(res);
    });
  } else {
    res.end(reply.body ?? '');
  }
}
