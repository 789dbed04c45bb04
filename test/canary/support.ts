/** Canary probes across many real users: the split is by uid, and a uid comes only from a token that `login` issued. */
import { waitFor, type RunningHost, type User } from '../helpers/index.js';
import { probe, type Probe } from '../reload/support.js';

/** Each user's answer from `name`. */
export async function callAll(host: RunningHost, name: string, users: User[]): Promise<Map<string, Probe>> {
  const out = new Map<string, Probe>();
  await Promise.all(users.map(async (u) => out.set(u.uid, await probe(host, name, u.token))));
  return out;
}

/** Polls until every user's answer from `name` satisfies `ok`. */
export function untilAll(
  host: RunningHost,
  name: string,
  users: User[],
  ok: (p: Probe, u: User) => boolean,
  ms = 5_000,
): Promise<Map<string, Probe>> {
  return waitFor(
    async () => {
      const got = await callAll(host, name, users);
      const bad = users.filter((u) => !ok(got.get(u.uid)!, u));
      if (bad.length === 0) return got;
      throw new Error(`${bad.length} of ${users.length} users still wrong, e.g. ${JSON.stringify(got.get(bad[0]!.uid))}`);
    },
    ms,
    { everyMs: 50, what: `every user's answer from ${name}` },
  );
}
