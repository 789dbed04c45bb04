/**
 * Real users for canary tests: the split is by uid, and a uid comes only
 * from a token that `login` issued. The account CGIs are copied from the
 * project's cgis/ into the test's temp folder.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type RunningHost } from '../helpers/host.js';
import { probe, type Probe } from '../reload/support.js';

export interface User {
  username: string;
  uid: string;
  token: string;
}

/** Copies cgis/account (register, login, logout) and cgis/_shared into a cgis folder. */
export function copyAccountCgis(cgisDir: string): void {
  cpSync(join(ROOT, 'cgis', 'account'), join(cgisDir, 'account'), { recursive: true });
  cpSync(join(ROOT, 'cgis', '_shared'), join(cgisDir, '_shared'), { recursive: true });
}

/** Registers and logs in `n` users, a few at a time (passwords are hashed with scrypt). */
export async function makeUsers(host: RunningHost, n: number, prefix = 'u'): Promise<User[]> {
  const tag = Math.random().toString(36).slice(2, 7);
  const users: User[] = [];
  const one = async (i: number): Promise<User> => {
    const username = `${prefix}${tag}_${i}`;
    const password = `pw-${tag}-${i}-long-enough`;
    const reg = await host.post('register', { username, password });
    if (reg.status !== 200) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
    const login = await host.post('login', { username, password });
    if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${login.text}`);
    return { username, uid: login.body.uid, token: login.body.token };
  };
  for (let i = 0; i < n; i += 8) {
    users.push(...(await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, k) => one(i + k)))));
  }
  return users;
}

/** Each user's answer from `name`. */
export async function callAll(host: RunningHost, name: string, users: User[]): Promise<Map<string, Probe>> {
  const out = new Map<string, Probe>();
  await Promise.all(users.map(async (u) => out.set(u.uid, await probe(host, name, u.token))));
  return out;
}

/** Polls until every user's answer from `name` satisfies `ok`. */
export async function untilAll(
  host: RunningHost,
  name: string,
  users: User[],
  ok: (p: Probe, u: User) => boolean,
  ms = 5_000,
): Promise<Map<string, Probe>> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await callAll(host, name, users);
    const bad = users.filter((u) => !ok(got.get(u.uid)!, u));
    if (bad.length === 0) return got;
    if (Date.now() > end) {
      throw new Error(`${bad.length} of ${users.length} users still wrong after ${ms} ms, e.g. ${JSON.stringify(got.get(bad[0]!.uid))}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
