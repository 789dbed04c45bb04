/** `/_host/api/…`: the admin check, the admin routes' dispatcher, and the CGI list (the other routes: canary-routes.ts, monitor-routes.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CgiSlot } from '../../host/cgi-slot.js';
import type { Registry } from '../../host/registry.js';
import { shortPath } from '../../host/compile.js';
import { sendError, sendJson } from '../respond.js';
import { readText } from '../body.js';
import { CgiError, isErrorCode } from '../../errors.js';
import { adminDenied, SignInThrottle } from './auth.js';
import { sendSignInPage, signInRoute, wantsPage } from './sign-in.js';

export interface AdminRoute {
  method: 'GET' | 'POST';
  /** Exact path, or a prefix ending in '/' that receives the rest as `tail` (unless `exact`). */
  path: string;
  /** A path ending in '/' that is one page, not a prefix. */
  exact?: boolean;
  handle(ctx: {
    req: IncomingMessage;
    res: ServerResponse;
    query: URLSearchParams;
    tail: string;
    requestId: string;
    body: () => Promise<unknown>;
  }): Promise<void> | void;
}

export function slotSummary(slot: CgiSlot) {
  const version = (d: CgiSlot['stable']) =>
    d && { version: d.version, file: shortPath(d.file), workers: d.workers.length, ...d.stats.toJSON() };
  return {
    name: slot.name,
    group: slot.group,
    file: shortPath(slot.file),
    version: slot.stable?.version ?? null,
    state: slot.state,
    canaryPercent: slot.canaryPercent,
    canaryVersion: slot.canary?.version ?? null,
    ...slot.stats.toJSON(),
    restarts: slot.restarts,
    inflight: slot.workers().reduce((n, w) => n + w.inflightCount, 0),
    lastError: slot.lastError ? { ...slot.lastError, file: shortPath(slot.lastError.file) } : null,
    typeErrors: slot.typeErrors,
    versions: { stable: version(slot.stable) ?? null, canary: version(slot.canary) ?? null },
  };
}

export function cgisRoute(registry: Registry): AdminRoute {
  return {
    method: 'GET',
    path: '/_host/api/cgis',
    handle: ({ res }) => {
      const cgis = [...registry.slots.values()].sort((a, b) => a.name.localeCompare(b.name)).map(slotSummary);
      const refused = [...registry.fileErrors.values()].map((e) => ({ ...e, file: shortPath(e.file) }));
      sendJson(res, 200, JSON.stringify({ cgis, refused }));
    },
  };
}

/** Dispatches the admin paths, after the admin check of SPEC §5. */
export function adminHandler(adminToken: string | undefined, routes: AdminRoute[]) {
  const throttle = new SignInThrottle();
  return async (req: IncomingMessage, res: ServerResponse, path: string, query: string, requestId: string): Promise<boolean> => {
    if (path !== '/metrics' && path !== '/_host' && !path.startsWith('/_host/')) return false;
    // Signing in is how a browser gets past the check below.
    if (await signInRoute(req, res, path, requestId, adminToken, throttle)) return true;
    const denied = adminDenied(req, adminToken);
    if (denied?.code === 'UNAUTHENTICATED' && wantsPage(req, path)) {
      sendSignInPage(res, 401, requestId);
      return true;
    }
    if (denied) {
      sendError(
        res,
        denied.code,
        denied.message,
        requestId,
        denied.code === 'UNAUTHENTICATED' ? { headers: { 'www-authenticate': 'Bearer' } } : {},
      );
      return true;
    }
    const matching = routes.filter(
      (r) => r.path === path || (!r.exact && r.path.endsWith('/') && path.startsWith(r.path) && path.length > r.path.length),
    );
    const r = matching.find((m) => m.method === req.method && m.path === path) ?? matching.find((m) => m.method === req.method);
    if (!r && matching.length) {
      const allow = [...new Set(matching.map((m) => m.method))].join(', ');
      sendError(res, 'METHOD_NOT_ALLOWED', `${path} takes ${allow}`, requestId, { headers: { allow } });
      return true;
    }
    if (r) {
      try {
        await r.handle({
          req,
          res,
          query: new URLSearchParams(query),
          tail: r.path === path ? '' : path.slice(r.path.length),
          requestId,
          body: () => readAdminBody(req),
        });
      } catch (e) {
        if (!(e instanceof CgiError && isErrorCode(e.code))) throw e;
        sendError(res, e.code, e.message, requestId, { details: e.details, headers: e.headers });
      }
      return true;
    }
    sendError(res, 'NO_SUCH_CGI', `no admin endpoint at ${path.slice(0, 200)}`, requestId);
    return true;
  };
}

async function readAdminBody(req: IncomingMessage): Promise<unknown> {
  const text = await readText(req, 64 * 1024);
  try {
    return text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new CgiError('INVALID_JSON', 'the request body is not valid JSON');
  }
}
