/**
 * A cap on the connections one client address holds at once (nginx's
 * limit_conn): a slowloris from one address runs out of connections, not the
 * host of file descriptors. Counted per socket peer, before any byte is read;
 * a trusted proxy's connections carry many clients and are not counted (its
 * clients' own limits apply to their requests).
 */
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { plainAddress, type ProxyTrust } from '../client-address.js';
import { errorBody } from '../../errors.js';

export interface ConnectionCapOptions {
  perAddress: number;
  trust: ProxyTrust;
  /** A TLS listener: a refusal cannot be written in plain text, so the socket is closed. */
  tls: boolean;
  /** Told once per refused connection, for the log (at most once a second per address is the caller's business). */
  refused?(address: string): void;
}

export function capConnections(server: Server, opts: ConnectionCapOptions): () => number {
  const held = new Map<string, number>();
  if (opts.perAddress <= 0) return () => 0;
  server.on('connection', (socket: Socket) => {
    const address = plainAddress(socket.remoteAddress ?? '');
    if (opts.trust.trusts(address)) return;
    const n = (held.get(address) ?? 0) + 1;
    if (n > opts.perAddress) {
      opts.refused?.(address);
      refuse(socket, opts.tls);
      return;
    }
    held.set(address, n);
    socket.once('close', () => {
      const left = held.get(address)! - 1;
      if (left === 0) held.delete(address);
      else held.set(address, left);
    });
  });
  return () => held.size;
}

/** A 429 in plain HTTP when possible (the client learns why), then the socket is closed. */
function refuse(socket: Socket, tls: boolean): void {
  if (tls) {
    socket.destroy();
    return;
  }
  const requestId = `conn-${randomBytes(6).toString('hex')}`;
  const body = JSON.stringify(errorBody('RATE_LIMITED', 'too many connections from this address', requestId, { retryAfterSec: 1 }));
  socket.on('error', () => socket.destroy());
  socket.end(
    'HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: application/json; charset=utf-8\r\n' +
      `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // A client that never reads must not keep the socket.
  setTimeout(() => socket.destroy(), 1_000).unref();
}
