/**
 * Passwords are kept only as a slow salted scrypt hash: `scrypt$N$r$p$salt$hash` (base64url).
 *
 * The cost N is 16384 (about 50 ms of CPU and 16 MiB per hash) unless the
 * account group's env sets `SCRYPT_N` (`cgiGroups.account.env.SCRYPT_N` in
 * host.config.json): a power of two from 1024 to 1048576. A stored hash is
 * always verified with its own parameters, so changing the cost affects only
 * passwords set from then on. The test suite lowers it to register hundreds
 * of users quickly; a production install leaves it alone or raises it.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const DEFAULT_N = 16_384;
const R = 8;
const P = 1;
const KEYLEN = 32;

/** The cost to hash with, from the group's env; a bad SCRYPT_N is a configuration error, said plainly. */
export function scryptCost(env: Readonly<Record<string, string>>): number {
  const raw = env.SCRYPT_N;
  if (raw === undefined || raw === '') return DEFAULT_N;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 1_048_576 || (n & (n - 1)) !== 0) {
    throw new Error(`cgiGroups.account.env.SCRYPT_N must be a power of two from 1024 to 1048576, not "${raw}"`);
  }
  return n;
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEYLEN, { N: n, r, p, maxmem: 2 * 128 * r * n + 1024 * 1024 }, (e, key) =>
      e ? reject(e) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, n = DEFAULT_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, n, R, P);
  return `scrypt$${n}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A stored hash is verified with its own parameters, so they can be raised later. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Spends the same time as a real check at cost `n`, so an unknown username cannot be told apart by timing. */
export async function burnPasswordCheck(password: string, n = DEFAULT_N): Promise<void> {
  await derive(password, Buffer.alloc(16), n, R, P);
}
