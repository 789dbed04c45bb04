/**
 * Which addresses ctx.fetch may reach (SPEC §8): everything public, and the
 * loopback, private and link-local ranges only where the group's
 * `fetchAllow` lists them — a host name (any port), `host:port`, or a CIDR
 * block. The config check and the worker's connector both use this.
 */
import { BlockList, isIP } from 'node:net';

/** Ranges refused unless allowed: loopback, private, link-local, shared, multicast, reserved. */
const REFUSED_V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'a "this network" address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'a protocol-assignment address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];
const REFUSED_V6: Array<[string, number, string]> = [
  ['::', 128, 'the unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['fc00::', 7, 'a private (unique local) address'],
  ['fe80::', 10, 'a link-local address'],
  ['ff00::', 8, 'a multicast address'],
];

export interface FetchAllow {
  /** Lower-case host names (and IP literals) allowed on any port. */
  hosts: Set<string>;
  /** `host:port` pairs allowed. */
  hostPorts: Set<string>;
  cidrs: BlockList;
  /** The rules as written, for messages. */
  rules: string[];
}

/** Parses one fetchAllow entry; throws with a reason when it is none of host, host:port, CIDR. */
export function parseAllowRule(
  rule: string,
):
  | { kind: 'host'; host: string }
  | { kind: 'hostPort'; host: string; port: number }
  | { kind: 'cidr'; address: string; prefix: number; type: 'ipv4' | 'ipv6' } {
  const r = rule.trim().toLowerCase();
  const slash = r.indexOf('/');
  if (slash >= 0) {
    const address = r.slice(0, slash);
    const prefix = Number(r.slice(slash + 1));
    const v = isIP(address);
    if (!v || !Number.isInteger(prefix) || prefix < 0 || prefix > (v === 4 ? 32 : 128)) throw new Error(`"${rule}" is not a CIDR block`);
    return { kind: 'cidr', address, prefix, type: v === 4 ? 'ipv4' : 'ipv6' };
  }
  // [v6]:port, v6 alone, v4:port, name:port
  const bracket = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(r);
  if (bracket) {
    if (isIP(bracket[1]!) !== 6) throw new Error(`"${rule}" is not an IPv6 address`);
    return bracket[2] === undefined
      ? { kind: 'host', host: bracket[1]! }
      : { kind: 'hostPort', host: bracket[1]!, port: port(bracket[2], rule) };
  }
  if (isIP(r) === 6) return { kind: 'host', host: r };
  const colon = r.lastIndexOf(':');
  const host = colon >= 0 ? r.slice(0, colon) : r;
  if (!/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/.test(host))
    throw new Error(`"${rule}" is not a host, host:port or CIDR block`);
  return colon >= 0 ? { kind: 'hostPort', host, port: port(r.slice(colon + 1), rule) } : { kind: 'host', host };
}

function port(s: string, rule: string): number {
  const n = Number(s);
  if (!/^\d{1,5}$/.test(s) || n < 1 || n > 65_535) throw new Error(`"${rule}" has no valid port`);
  return n;
}

export function compileAllow(rules: readonly string[]): FetchAllow {
  const allow: FetchAllow = { hosts: new Set(), hostPorts: new Set(), cidrs: new BlockList(), rules: [...rules] };
  for (const rule of rules) {
    const r = parseAllowRule(rule);
    if (r.kind === 'host') allow.hosts.add(r.host);
    else if (r.kind === 'hostPort') allow.hostPorts.add(`${r.host}:${r.port}`);
    else allow.cidrs.addSubnet(r.address, r.prefix, r.type);
  }
  return allow;
}

/** Whether a request to this host name (as in the URL, brackets removed) and port is allowed by name. */
export function hostAllowed(allow: FetchAllow, hostname: string, port: number): boolean {
  const h = hostname.toLowerCase();
  return allow.hosts.has(h) || allow.hostPorts.has(`${h}:${port}`);
}

const refusedV4 = new BlockList();
const refusedV6 = new BlockList();
for (const [a, p] of REFUSED_V4) refusedV4.addSubnet(a, p, 'ipv4');
for (const [a, p] of REFUSED_V6) refusedV6.addSubnet(a, p, 'ipv6');

/** Why this resolved address may not be reached, or null when it may. */
export function refusedAddress(allow: FetchAllow, address: string): string | null {
  let a = address.toLowerCase();
  let family = isIP(a);
  if (family === 0) return 'not an IP address';
  // IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d): judged as the IPv4 address it carries.
  if (family === 6) {
    const embedded = embeddedV4(a);
    if (embedded) {
      a = embedded;
      family = 4;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (allow.cidrs.check(a, type)) return null;
  const ranges = family === 4 ? REFUSED_V4 : REFUSED_V6;
  if (!(family === 4 ? refusedV4 : refusedV6).check(a, type)) return null;
  for (const [net, prefix, why] of ranges) {
    const one = new BlockList();
    one.addSubnet(net, prefix, type);
    if (one.check(a, type)) return `${address} is ${why}`;
  }
  return `${address} is not a public address`;
}

function embeddedV4(a: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(a) ?? /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (!m) return null;
  if (m[2] === undefined) return m[1]!;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
