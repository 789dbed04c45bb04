/**
 * The listening socket of the HTTP front: node:http, or node:https when the
 * config has `tls`, with the bounds that keep slow and idle clients from
 * holding the host (SPEC §10, nginx's timeouts): the request head within
 * headersTimeoutMs (an idle connection that never sends a byte included), a
 * whole request within requestTimeoutMs, idle keep-alive connections closed
 * after keepAliveTimeoutMs, and at most connectionsPerAddress connections
 * per client address. A connection is a socket and a parser on the event
 * loop, never a thread: CGI workers see a request only once it is whole.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ProxyTrust } from './client-address.js';
import { capConnections } from './limits/connection-cap.js';
import { readTls, reloadTls } from './tls.js';
import type { Server as TlsServer } from 'node:tls';

export interface Listener {
  server: Server;
  scheme: 'http' | 'https';
  /** Re-reads the certificate and key (SIGHUP); throws, keeping the old ones, when they are not usable. No-op without tls. */
  reloadTls(): void;
}

export function createListener(
  config: Config,
  trust: ProxyTrust,
  log: Logger,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Listener {
  const l = config.limits;
  const options = {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    // node checks the two timeouts above on this interval (default 30 s, which would let a 10 s bound run to 40 s).
    connectionsCheckingInterval: Math.min(1_000, l.headersTimeoutMs),
  };
  const tls = config.tls;
  const server: Server = tls
    ? createHttpsServer({ ...options, ...readTls(tls), handshakeTimeout: l.headersTimeoutMs }, handle)
    : createHttpServer(options, handle);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A head or request that did not arrive in time gets 408 (nginx's answer too), anything unparseable 400.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable && !tls) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  if (tls) server.on('tlsClientError', (_err, socket) => socket.destroy());
  let lastRefusalLog = 0;
  capConnections(server, {
    perAddress: l.connectionsPerAddress,
    trust,
    tls: !!tls,
    refused: (address) => {
      const now = Date.now();
      if (now - lastRefusalLog < 1_000) return;
      lastRefusalLog = now;
      log.warn('connection refused: too many from one address', { address, connectionsPerAddress: l.connectionsPerAddress });
    },
  });
  return {
    server,
    scheme: tls ? 'https' : 'http',
    reloadTls: () => {
      if (tls) reloadTls(server as unknown as TlsServer, tls);
    },
  };
}
