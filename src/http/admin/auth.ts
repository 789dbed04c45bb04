import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../../errors.js';
import { clientAddress } from '../client-address.js';

/** The dashboard's sign-in cookie: `<expiry ms>.<HMAC of it keyed by the admin token>`. */
export const SESSION_COOKIE = 'cgihost_admin';
/** How long a browser stays signed in to the dashboard. */
export const SESSION_SECONDS = 12 * 60 * 60;

/**
 * SPEC §5: with an admin token configured, `Authorization: Bearer <adminToken>`
 * is required; without one, only loopback clients are served. A browser,
 * which cannot add that header, signs in once with the token (POST
 * /_host/login) and gets a cookie made from it; the cookie is taken for
 * reading (GET and HEAD), and for a write only from the dashboard page itself
 * (its retry and run-now buttons): one that carries DASHBOARD_HEADER, which no
 * other site's page can send without a CORS preflight the host never grants,
 * and this host's own Origin. So no other site can make a signed-in browser
 * change anything.
 */
export function adminDenied(
  req: IncomingMessage,
  adminToken: string | undefined,
  now = Date.now(),
): { code: ErrorCode; message: string } | null {
  if (adminToken) {
    const h = req.headers.authorization ?? '';
    if (sameSecret(h.startsWith('Bearer ') ? h.slice(7).trim() : '', adminToken)) return null;
    const reads = req.method === 'GET' || req.method === 'HEAD';
    if ((reads || fromDashboard(req)) && validSession(req.headers.cookie, adminToken, now)) return null;
    return { code: 'UNAUTHENTICATED', message: 'the admin token is required' };
  }
  // The client's address, not the socket's: behind a trusted proxy on this machine every client would look local.
  return isLoopback(clientAddress(req))
    ? null
    : { code: 'FORBIDDEN', message: 'admin is served to loopback clients only unless an adminToken is configured' };
}

/** The header the dashboard's own writes carry (see adminDenied). */
export const DASHBOARD_HEADER = 'x-cgihost-dashboard';

/** A request made by the dashboard page of this host: its header, and an Origin that is this host. */
function fromDashboard(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (req.headers[DASHBOARD_HEADER] !== '1' || !origin || !req.headers.host) return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export function sameSecret(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

function mac(adminToken: string, expires: number): string {
  return createHmac('sha256', adminToken).update(`cgihost dashboard session ${expires}`).digest('base64url');
}

/** The cookie value for a browser that gave the right token: it changes with the token and expires. */
export function sessionValue(adminToken: string, now = Date.now()): string {
  const expires = now + SESSION_SECONDS * 1000;
  return `${expires}.${mac(adminToken, expires)}`;
}

export function validSession(cookieHeader: string | undefined, adminToken: string, now = Date.now()): boolean {
  if (!cookieHeader) return false;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    const dot = value.indexOf('.');
    const expires = Number(value.slice(0, dot));
    if (dot > 0 && Number.isSafeInteger(expires) && expires > now && sameSecret(value.slice(dot + 1), mac(adminToken, expires)))
      return true;
  }
  return false;
}

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/** Wrong admin tokens per client address: past `limit` in a minute, sign-in answers 429 until the minute is over. */
export class SignInThrottle {
  private readonly failures = new Map<string, { n: number; resetAt: number }>();

  constructor(private readonly limit = 10) {}

  /** Seconds to wait, or 0 when this address may try. */
  retryAfter(addr: string, now = Date.now()): number {
    const f = this.failures.get(addr);
    if (!f || f.resetAt <= now) return 0;
    return f.n >= this.limit ? Math.ceil((f.resetAt - now) / 1000) : 0;
  }

  failed(addr: string, now = Date.now()): void {
    const f = this.failures.get(addr);
    if (!f || f.resetAt <= now) {
      // Old entries go when a new one comes: the map holds at most the addresses of the last minute.
      for (const [a, e] of this.failures) if (e.resetAt <= now) this.failures.delete(a);
      this.failures.set(addr, { n: 1, resetAt: now + 60_000 });
    } else {
      f.n++;
    }
  }
}
