/**
 * The client's address (SPEC §10 "Behind a proxy"): the socket's peer, or,
 * when that peer is a proxy listed in `trustProxy`, the address the proxies
 * report in X-Forwarded-For. The header is read right to left, each hop
 * appended by the one after it: the first address from the right that is not
 * itself a trusted proxy is the client (Synapse's x_forwarded with trusted
 * proxies; express's proxy-addr). Everything left of it was written by the
 * client and is ignored, so a spoofed header gains nothing. It is computed
 * once per request and is what ctx.ip, the access log, the admin's loopback
 * check and every rate limit use.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a dual-stack socket reports IPv4 peers) as plain IPv4. */
export function plainAddress(addr: string): string {
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

/** The proxies whose X-Forwarded-For is believed. */
export class ProxyTrust {
  private readonly list = new BlockList();
  readonly enabled: boolean;

  /** `entries` were checked by the config schema (addressEntryError). */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const [addr, bits] = e.split('/') as [string, string | undefined];
      const a = plainAddress(addr);
      const type = isIP(a) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(a, type);
      else this.list.addSubnet(a, Number(bits), type);
    }
    this.enabled = entries.length > 0;
  }

  trusts(addr: string): boolean {
    if (!this.enabled) return false;
    const a = plainAddress(addr);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client address of a connection from `peer` that sent `forwarded`
   * (X-Forwarded-For, repeated headers joined with commas). An entry that is
   * not an address ends the walk: the hop that handed it over is the client
   * as far as we can tell.
   */
  clientOf(peer: string, forwarded: string | string[] | undefined): string {
    let client = plainAddress(peer);
    if (!this.trusts(client) || forwarded === undefined) return client;
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hopAddress(hops[i]!);
      if (hop === null) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** One X-Forwarded-For element as an address: trimmed, `[v6]:port` and `v4:port` forms accepted. */
function hopAddress(raw: string): string | null {
  let s = raw.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    s = end > 0 ? s.slice(1, end) : '';
  } else if (s.indexOf(':') > 0 && s.indexOf(':') === s.lastIndexOf(':')) {
    s = s.slice(0, s.indexOf(':'));
  }
  return isIP(s) === 0 ? null : plainAddress(s);
}

const ADDRESS = Symbol('cgihost.clientAddress');
type Tagged = IncomingMessage & { [ADDRESS]?: string };

/** Called once per request by the HTTP front. */
export function setClientAddress(req: IncomingMessage, trust: ProxyTrust): string {
  const ip = trust.clientOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']);
  (req as Tagged)[ADDRESS] = ip;
  return ip;
}

/** The request's client address (the socket's peer for a request the front has not tagged). */
export function clientAddress(req: IncomingMessage): string {
  return (req as Tagged)[ADDRESS] ?? plainAddress(req.socket.remoteAddress ?? '');
}
