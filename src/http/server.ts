/** The HTTP front: node:http, routing, request ids, and nothing a client sends may crash it. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { serveCgi, type CgiRouteDeps } from './cgi-route.js';
import { ProxyTrust, setClientAddress } from './client-address.js';
import { watchBodyIdle } from './limits/body-idle.js';
import { createListener, type Listener } from './listener.js';
import { sendError, sendJson } from './respond.js';

export interface FrontDeps extends CgiRouteDeps {
  /** /metrics and /_host/…: answers and returns true when the path is its own. */
  admin(req: IncomingMessage, res: ServerResponse, path: string, query: string, requestId: string): Promise<boolean> | boolean;
  log: Logger;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class Front {
  readonly server: Server;
  readonly listener: Listener;
  private readonly trust: ProxyTrust;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly idPrefix = randomBytes(4).toString('hex');
  private seq = 0;

  constructor(private readonly deps: FrontDeps) {
    this.trust = new ProxyTrust(deps.config.trustProxy);
    this.listener = createListener(deps.config, this.trust, deps.log, (req, res) => this.handle(req, res));
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
    setClientAddress(req, this.trust);
    if (!req.complete) watchBodyIdle(req, this.deps.config.limits.bodyIdleTimeoutMs);
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : `${this.idPrefix}-${(++this.seq).toString(36)}`;
    this.inflight++;
    res.once('close', () => {
      if (--this.inflight === 0 && this.idleWaiters.length) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    this.route(req, res, path, query, requestId).catch((e: Error) => {
      this.deps.log.error('unhandled error in the HTTP front', { requestId, error: e.stack });
      if (!res.headersSent) sendError(res, 'INTERNAL', 'internal error', requestId);
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string, query: string, requestId: string): Promise<void> {
    // CGI answers carry their own x-request-id (see serveCgi); everything else gets it here.
    if (path.startsWith('/cgi-bin/')) return serveCgi(this.deps, path.slice(9), query, req, res, requestId);
    res.setHeader('x-request-id', requestId);
    if (path === '/healthz') return sendJson(res, 200, '{"status":"ok"}');
    if (await this.deps.admin(req, res, path, query, requestId)) return;
    sendError(res, 'NO_SUCH_CGI', `nothing is served at ${path.slice(0, 200)}`, requestId);
  }
}
