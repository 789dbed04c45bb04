/**
 * Users administration over a running host (SPEC §10): the admin API and
 * `cgihost users list|disable|enable|reset-password` against it. A disabled
 * account's tokens fail at once (its held long-poll ends too), its logins get
 * 403 ACCOUNT_DISABLED only with the right password; enabling lets it log in
 * again; a reset password revokes every session and the new one works.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, expectError, login, newUser, newUsers, PROJECT_CGIS, runCli, startHost, type RunningHost } from '../helpers/index.js';
import { sendText, sync } from '../messaging/client.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS });
});
afterAll(async () => {
  await h?.stop();
});

const users = (...args: string[]) => runCli(['users', ...args, '--url', h.url]);

/** `cgihost users reset-password NAME --password-stdin` with the password on stdin. */
function resetWithStdin(name: string, password: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'users', 'reset-password', name, '--password-stdin', '--url', h.url], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c) => (stdout += c));
    proc.stderr.on('data', (c) => (stderr += c));
    proc.once('error', reject);
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(`${password}\n`);
  });
}

describe('users administration', () => {
  it('lists users a page at a time through the admin API and the CLI', async () => {
    const made = await newUsers(h, 3, 'lst');
    const page = await h.get('/_host/api/users?prefix=lst_&limit=2');
    expect(page.status, page.text).toBe(200);
    expect(page.body.users).toHaveLength(2);
    expect(page.body.next).toBe(page.body.users[1].username);
    const rest = await h.get(`/_host/api/users?prefix=lst_&limit=2&after=${page.body.next}`);
    expect(rest.body.users).toHaveLength(1);
    expect(rest.body.next).toBeUndefined();
    const all = [...page.body.users, ...rest.body.users];
    expect(all.map((u) => u.username)).toEqual(made.map((u) => u.username).sort());
    expect(all.every((u) => u.sessions === 1 && u.disabledAt === undefined)).toBe(true);

    const cli = await users('list', 'lst_', '--json');
    expect(cli.code, cli.stderr).toBe(0);
    expect(
      JSON.parse(cli.stdout)
        .map((u: { uid: string }) => u.uid)
        .sort(),
    ).toEqual(made.map((u) => u.uid).sort());
    const text = await users('list', 'lst_');
    expect(text.stdout).toContain(`${made[0]!.username}`);
    expect(text.stdout).toContain('enabled, 1 session');

    expectError(await h.get('/_host/api/users?limit=0'), 400, 'INVALID_INPUT');
    expectError(await h.get('/_host/api/users/nobody_here'), 404, 'NO_SUCH_USER');
  });

  it('disable ends every session at once (a held sync too) and login answers 403 ACCOUNT_DISABLED; enable lets it back in', async () => {
    const [alice, bob] = await newUsers(h, 2, 'dis');
    const second = await login(h, alice!.username);
    expect(second.status).toBe(200);
    // A long-poll held while the account is disabled ends, rather than holding a revoked session open.
    const held = sync(h, alice!, { syncKey: 0, timeoutMs: 25_000 });
    const started = Date.now();
    const r = await users('disable', alice!.username);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/disabled since/);
    expect((await held).status).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(20_000);
    // Both tokens fail on the very next request: no cache keeps them.
    expectError(await sync(h, alice!, { syncKey: 0 }), 401, 'UNAUTHENTICATED');
    expectError(await h.post('sync', { syncKey: 0 }, { token: second.body.token }), 401, 'UNAUTHENTICATED');
    expectError(await login(h, alice!.username), 403, 'ACCOUNT_DISABLED');
    // A wrong password says nothing about the account's state.
    expectError(await login(h, alice!.username, 'not the password'), 401, 'BAD_CREDENTIALS');
    const shown = await h.get(`/_host/api/users/${alice!.username}`);
    expect(shown.body).toMatchObject({ uid: alice!.uid, sessions: 0 });
    expect(typeof shown.body.disabledAt).toBe('number');
    // Other users are untouched, and can still message the disabled account.
    await sendText(h, bob!, alice!, 'waiting for you');
    // Disabling again is harmless.
    expect((await users('disable', alice!.username)).code).toBe(0);

    const e = await users('enable', alice!.username);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain('enabled, 0 sessions');
    const back = await login(h, alice!.username);
    expect(back.status, back.text).toBe(200);
    const inbox = await h.post('sync', { syncKey: 0 }, { token: back.body.token });
    expect(inbox.body.messages.map((m: { content: string }) => m.content)).toContain('waiting for you');
  });

  it('reset-password ends every session; the made-up password (or one from stdin) works and the old one does not', async () => {
    const carol = await newUser(h, 'rst');
    const r = await users('reset-password', carol.username);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 session(s) ended');
    const made = /new password: (\S+)/.exec(r.stdout)?.[1];
    expect(made).toMatch(/^\S{16}$/);
    expectError(await sync(h, carol, { syncKey: 0 }), 401, 'UNAUTHENTICATED');
    expectError(await login(h, carol.username), 401, 'BAD_CREDENTIALS');
    expect((await login(h, carol.username, made)).status).toBe(200);

    const mine = await resetWithStdin(carol.username, 'my own new password');
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout).not.toContain('new password:');
    expectError(await login(h, carol.username, made), 401, 'BAD_CREDENTIALS');
    expect((await login(h, carol.username, 'my own new password')).status).toBe(200);

    const odd = await fetch(`${h.url}/_host/api/users/${carol.username}/promote`, { method: 'POST' });
    expect(odd.status).toBe(404);
    expect((await odd.json()).error.code).toBe('NO_SUCH_CGI');
  });

  it('refuses what it cannot do, with the usual errors and a non-zero exit', async () => {
    const gone = await users('disable', 'no_such_person');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('404 NO_SUCH_USER');
    expect((await users('frobnicate', 'x')).code).toBe(2);
    const short = await resetWithStdin('no_such_person', 'short');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('INVALID_INPUT');
    const unreachable = await runCli(['users', 'list', '--url', 'http://127.0.0.1:9']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach the host');
  });
});
