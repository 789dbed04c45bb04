import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../../errors.js';
import { clientAddress } from '../client-address.js';

/**
 * SPEC §5: with an admin token configured, `Authorization: Bearer <adminToken>`
 * is required; without one, only loopback clients are served.
 */
export function adminDenied(req: IncomingMessage, adminToken: string | undefined): { code: ErrorCode; message: string } | null {
  if (adminToken) {
    const h = req.headers.authorization ?? '';
    const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7).trim() : '');
    const want = Buffer.from(adminToken);
    if (given.length === want.length && timingSafeEqual(given, want)) return null;
    return { code: 'UNAUTHENTICATED', message: 'the admin token is required' };
  }
  // The client's address, not the socket's: behind a trusted proxy on this machine every client would look local.
  return isLoopback(clientAddress(req))
    ? null
    : { code: 'FORBIDDEN', message: 'admin is served to loopback clients only unless an adminToken is configured' };
}

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}
