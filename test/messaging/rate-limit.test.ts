/**
 * Login rate limiting (SPEC §4 Accounts, §3 429 RATE_LIMITED with retry-after).
 * Failures are counted per username and per address (README "Login
 * throttling": the address's budget is the larger one), so each case talks to
 * the host from its own loopback address (127.0.0.x, bound as the socket's
 * local address) to tell the two limits apart.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type ApiResponse,
  expectError,
  PASSWORD,
  PROJECT_CGIS,
  register,
  type RunningHost,
  startHost,
  uniqueName,
} from '../helpers/index.js';

let h: RunningHost;
const agents: Agent[] = [];
beforeAll(async () => {
  // The address budget lowered from its default 100 to 10 (the account's stays 5), so a spray is seen within 12 tries.
  h = await startHost({ cgisDir: PROJECT_CGIS, config: { limits: { login: { addressFailures: 10 } } } });
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await h?.stop();
});

/** Logs in from the loopback address `from`. */
function loginFrom(from: string) {
  const agent = new Agent({ localAddress: from });
  agents.push(agent);
  return async (username: string, password: string): Promise<ApiResponse> => {
    const res = await undiciFetch(`${h.url}/cgi-bin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
      dispatcher: agent,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers as unknown as Headers, body: JSON.parse(text), text };
  };
}

function expectLimited(r: ApiResponse): void {
  expectError(r, 429, 'RATE_LIMITED');
  const after = Number(r.headers.get('retry-after'));
  expect(Number.isInteger(after), `retry-after: ${r.headers.get('retry-after')}`).toBe(true);
  expect(after).toBeGreaterThanOrEqual(1);
  // The failures are a few ms old: the wait is about the whole window (60 s by default), never more.
  expect(after).toBeLessThanOrEqual(60);
}

it('limits repeated failures for one username, refusing even the right password, per username only', async () => {
  const name = uniqueName('victim');
  const other = uniqueName('bystander');
  expect((await register(h, name)).status).toBe(200);
  expect((await register(h, other)).status).toBe(200);
  const attacker = loginFrom('127.0.0.2');
  const codes: number[] = [];
  let limited: ApiResponse | undefined;
  for (let i = 0; i < 12 && !limited; i++) {
    const r = await attacker(name, `wrong password ${i}`);
    codes.push(r.status);
    if (r.status === 429) limited = r;
    else expectError(r, 401, 'BAD_CREDENTIALS');
  }
  expect(limited, `statuses: ${codes.join(',')}`).toBeDefined();
  expectLimited(limited!);
  // At least a few honest typos are allowed before the limit.
  expect(codes.filter((c) => c === 401).length).toBeGreaterThanOrEqual(3);

  // From another address the username is still limited: the right password is refused too.
  const owner = loginFrom('127.0.0.3');
  expectLimited(await owner(name, PASSWORD));
  // ...while another user logs in from there at once.
  const ok = await owner(other, PASSWORD);
  expect(ok.status, ok.text).toBe(200);
});

it('limits repeated failures from one address across usernames', async () => {
  const victim = uniqueName('spray');
  expect((await register(h, victim)).status).toBe(200);
  const sprayer = loginFrom('127.0.0.4');
  let limited: ApiResponse | undefined;
  for (let i = 0; i < 12 && !limited; i++) {
    // A different unknown username each time: no single username reaches its limit first.
    const r = await sprayer(uniqueName(`guess${i}`), 'wrong password');
    if (r.status === 429) limited = r;
    else expectError(r, 401, 'BAD_CREDENTIALS');
  }
  expect(limited).toBeDefined();
  expectLimited(limited!);
  // The address is limited even for a correct login of a user it never tried...
  expectLimited(await sprayer(victim, PASSWORD));
  // ...and the same user logs in from elsewhere.
  const elsewhere = await loginFrom('127.0.0.5')(victim, PASSWORD);
  expect(elsewhere.status, elsewhere.text).toBe(200);
});

it("a successful login to one's own account does not wipe the address's failures", async () => {
  // Otherwise one valid account lets an address spray guesses at everyone else without end.
  const own = uniqueName('sprayer');
  expect((await register(h, own)).status).toBe(200);
  const sprayer = loginFrom('127.0.0.6');
  const statuses: number[] = [];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3; i++) statuses.push((await sprayer(uniqueName('target'), 'wrong password')).status);
    statuses.push((await sprayer(own, PASSWORD)).status);
  }
  // 12 failures from one address within the window: some of them must have been refused with 429.
  expect(statuses, `statuses: ${statuses.join(',')}`).toContain(429);
});
