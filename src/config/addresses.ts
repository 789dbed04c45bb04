/** Address lists in the config (trustProxy): each entry an IP address or a CIDR range. */
import { isIP } from 'node:net';

/** Checks one entry, `10.0.0.1`, `10.0.0.0/8`, `::1` or `fd00::/8`: an error message, or null when valid. */
export function addressEntryError(entry: string): string | null {
  const [addr = '', bits, extra] = entry.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR range (10.0.0.0/8, fd00::/8)`;
  if (bits === undefined) return null;
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max ? null : `"${entry}": the prefix length must be 0 to ${max}`;
}
