/** `cgihost users list [PREFIX] | disable|enable|reset-password USERNAME`: the users admin API of a running host (SPEC §10). */
import type { Config } from '../config/schema.js';
import type { UserSummary } from '../store/admin-api.js';
import { adminJson, hostUrl } from './admin-client.js';

const USAGE = 'usage: cgihost users list [PREFIX] | disable USERNAME | enable USERNAME | reset-password USERNAME [--password-stdin]';

function line(u: UserSummary): string {
  const state = u.disabledAt === undefined ? 'enabled' : `disabled since ${new Date(u.disabledAt).toISOString()}`;
  return `${u.username.padEnd(32)} ${u.uid}  ${state}, ${u.sessions} session${u.sessions === 1 ? '' : 's'}`;
}

async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  return text.replace(/\r?\n$/, '');
}

export async function usersCommand(
  config: Config,
  args: string[],
  opts: { url?: string; json?: boolean; passwordStdin?: boolean },
): Promise<number> {
  const [action, name] = args;
  const base = hostUrl(config, opts.url);
  const user = (n: string) => `/_host/api/users/${encodeURIComponent(n)}`;
  if (action === 'list') {
    let after: string | undefined;
    const all: UserSummary[] = [];
    do {
      const q = new URLSearchParams({ limit: '1000' });
      if (name) q.set('prefix', name);
      if (after) q.set('after', after);
      const page = (await adminJson(config, base, 'GET', `/_host/api/users?${q}`)) as { users: UserSummary[]; next?: string } | null;
      if (!page) return 1;
      all.push(...page.users);
      after = page.next;
    } while (after);
    if (opts.json) console.log(JSON.stringify(all));
    else for (const u of all) console.log(line(u));
    return 0;
  }
  if (!name || !['disable', 'enable', 'reset-password'].includes(action ?? '')) {
    console.error(USAGE);
    return 2;
  }
  if (action === 'reset-password') {
    const body = opts.passwordStdin ? { password: await readStdin() } : {};
    const r = (await adminJson(config, base, 'POST', `${user(name)}/reset-password`, body)) as {
      revokedSessions: number;
      password?: string;
    } | null;
    if (!r) return 1;
    console.log(opts.json ? JSON.stringify(r) : `${name}: password reset, ${r.revokedSessions} session(s) ended`);
    // The made-up password goes to stdout alone on its line, for a script to take.
    if (r.password !== undefined && !opts.json) console.log(`new password: ${r.password}`);
    return 0;
  }
  const u = (await adminJson(config, base, 'POST', `${user(name)}/${action}`, {})) as UserSummary | null;
  if (!u) return 1;
  console.log(opts.json ? JSON.stringify(u) : line(u));
  return 0;
}
