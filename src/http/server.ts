/** The HTTP front: node:http, routing, request ids, and nothing a client sends may crash it. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { serveCgi, type CgiRouteDeps, type RequestSeen } from './cgi-route.js';
import { clientAddress, ProxyTrust, setClientAddress } from './client-address.js';
import { watchBodyIdle } from './limits/body-idle.js';
import { createListener, type Listener } from './listener.js';
import { sendError, sendJson } from './respond.js';
import type { WebClient } from './web-client.js';

export interface FrontDeps extends CgiRouteDeps {
  /** /metrics and /_host/…: answers and returns true when the path is its own. */
  admin(req: IncomingMessage, res: ServerResponse, path: string, query: string, requestId: string): Promise<boolean> | boolean;
  /** The web client (`/`, `/assets/…`): answers and returns true when the path is its own. */
  web?: WebClient | null;
  log: Logger;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class Front {
  readonly server: Server;
  /** HTTP or HTTPS, with the slow-client bounds (listener.ts). */
  readonly listener: Listener;
  private readonly trust: ProxyTrust;
  /** Set by serve(): until then requests wait in `waiting`. */
  private deps!: FrontDeps;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly idPrefix = randomBytes(4).toString('hex');
  private seq = 0;
  /** Requests that arrived after listen() and before serve() (the CGIs were still loading). */
  private waiting: Array<() => void> | null = [];

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.trust = new ProxyTrust(config.trustProxy);
    this.listener = createListener(config, this.trust, log, (req, res) => this.handle(req, res));
    this.server = this.listener.server;
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? { host, port: a.port } : { host, port });
      });
    });
  }

  /** The CGIs are loaded: serve what arrived meanwhile, and everything after. */
  serve(deps: FrontDeps): void {
    this.deps = deps;
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const serve of waiting) serve();
  }

  /** Start-up failed: stop listening and drop every connection, answered or not. */
  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  /** Stop accepting, then resolve once every request in flight has been answered (or `ms` passed). */
  async drain(ms: number): Promise<void> {
    this.server.close();
    this.server.closeIdleConnections();
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.server.closeAllConnections();
  }

  get inflightCount(): number {
    return this.inflight;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.waiting) {
      this.waiting.push(() => this.handle(req, res));
      return;
    }
    setClientAddress(req, this.trust);
    if (!req.complete) watchBodyIdle(req, this.config.limits.bodyIdleTimeoutMs);
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : `${this.idPrefix}-${(++this.seq).toString(36)}`;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const seen: RequestSeen = {};
    this.inflight++;
    res.once('close', () => {
      if (this.deps.config.log.access) this.accessLine(req, res, path, requestId, seen, started);
      if (--this.inflight === 0 && this.idleWaiters.length) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    });
    this.route(req, res, path, query, requestId, seen).catch((e: Error) => {
      this.log.error('unhandled error in the HTTP front', { requestId, error: e.stack });
      if (!res.headersSent) sendError(res, 'INTERNAL', 'internal error', requestId);
      else res.destroy();
    });
  }

  /** The access log: one line per request, once its answer is sent (or the client is gone: status 499). */
  private accessLine(req: IncomingMessage, res: ServerResponse, path: string, requestId: string, seen: RequestSeen, started: number): void {
    this.log.info('request', {
      method: req.method,
      path: path.length > 200 ? path.slice(0, 200) : path,
      status: res.writableFinished ? res.statusCode : 499,
      ms: Math.round((performance.now() - started) * 100) / 100,
      requestId,
      ip: clientAddress(req),
      cgi: seen.cgi,
      version: seen.version,
      uid: seen.uid,
      heldMs: seen.heldMs === undefined ? undefined : Math.round(seen.heldMs),
    });
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
    requestId: string,
    seen: RequestSeen,
  ): Promise<void> {
    // CGI answers carry their own x-request-id (see serveCgi); everything else gets it here.
    if (path.startsWith('/cgi-bin/')) return serveCgi(this.deps, path.slice(9), query, req, res, requestId, seen);
    res.setHeader('x-request-id', requestId);
    if (path === '/healthz') return sendJson(res, 200, '{"status":"ok"}');
    if (await this.deps.admin(req, res, path, query, requestId)) return;
    if (this.deps.web?.serve(req, res, path, requestId)) return;
    sendError(res, 'NO_SUCH_CGI', `nothing is served at ${path.slice(0, 200)}`, requestId);
  }
}
