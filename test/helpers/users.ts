/**
 * Real users of a running host: registered and logged in over HTTP through the
 * account CGIs (cgis/account), so every uid and token is one the host issued.
 */
import { randomBytes } from 'node:crypto';
import type { ApiResponse, RunningHost } from './host.js';

export interface User {
  username: string;
  password: string;
  uid: string;
  token: string;
}

/** The password every helper-made user has (8–128 characters, SPEC §4). */
export const PASSWORD = 'correct horse battery';

let counter = 0;
/** A username no other test of the run uses (3–32 chars of [a-z0-9_]). */
export function uniqueName(prefix = 'u'): string {
  return `${prefix}_${process.pid.toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`.slice(0, 32);
}

export function register(h: RunningHost, username: string, password = PASSWORD): Promise<ApiResponse> {
  return h.post('register', { username, password });
}

export function login(h: RunningHost, username: string, password = PASSWORD, deviceId?: string): Promise<ApiResponse> {
  return h.post('login', deviceId === undefined ? { username, password } : { username, password, deviceId });
}

/** Registers and logs in a fresh user whose name starts with `prefix`; throws with the answer if either call fails. */
export async function newUser(h: RunningHost, prefix = 'u'): Promise<User> {
  const username = uniqueName(prefix);
  const r = await register(h, username);
  if (r.status !== 200) throw new Error(`register ${username}: ${r.status} ${r.text}`);
  const l = await login(h, username);
  if (l.status !== 200) throw new Error(`login ${username}: ${l.status} ${l.text}`);
  return { username, password: PASSWORD, uid: r.body.uid, token: l.body.token };
}

/**
 * Fresh users, `batch` at a time (scrypt makes each ~50 ms of CPU; more at once time out on a loaded machine): `n` of them named
 * `prefix_…`, or one per name given (`['alice', 'bob']`, in that order).
 */
export async function newUsers(h: RunningHost, n: number | string[], prefix = 'u', batch = 8): Promise<User[]> {
  const prefixes = typeof n === 'number' ? Array.from({ length: n }, () => prefix) : n;
  const out: User[] = [];
  for (let i = 0; i < prefixes.length; i += batch) {
    out.push(...(await Promise.all(prefixes.slice(i, i + batch).map((p) => newUser(h, p)))));
  }
  return out;
}
