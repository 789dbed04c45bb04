/**
 * Behind a proxy (SPEC §10): a chain of two real reverse proxies, each on its
 * own loopback address, in front of a host with `trustProxy` (an address and a
 * CIDR range). ctx.ip, the CGI's log lines and the login throttle use the
 * client's address taken from X-Forwarded-For (the rightmost one not in the
 * list), so a client's spoofed header gains nothing; without a trusted peer the
 * header is ignored. The login throttle: one client's failures do not block
 * another client behind the same proxies, and the address's budget is larger
 * than an account's, and spares accounts that signed in from it before.
 */
import { createServer, request, type Server } from 'node:http';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyProjectCgis,
  expectError,
  PASSWORD,
  register,
  startHost,
  tempDir,
  uniqueName,
  waitFor,
  type ApiResponse,
  type RunningHost,
} from '../helpers/index.js';

const WHOAMI = `import { defineCgi, z } from 'cgihost';
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ note: z.string().optional() }),
  output: z.object({ ip: z.string() }),
  handler: (input, ctx) => {
    ctx.log.info('whoami', { note: input.note });
    return { ip: ctx.ip };
  },
});
`;

/** The outer proxy (127.0.0.20) and the inner one (127.0.0.21, also the address it connects to the host from). */
const OUTER = '127.0.0.20';
const INNER = '127.0.0.21';

/** A reverse proxy as nginx's `proxy_add_x_forwarded_for` makes it: appends its peer's address to X-Forwarded-For. */
function proxy(listenOn: string, upstream: () => URL): Promise<Server> {
  const server = createServer((req, res) => {
    const prior = req.headers['x-forwarded-for'];
    const peer = req.socket.remoteAddress!;
    const headers = { ...req.headers, 'x-forwarded-for': prior ? `${prior}, ${peer}` : peer };
    const up = upstream();
    const out = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers, localAddress: listenOn }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  return new Promise((resolve) => server.listen(0, listenOn, () => resolve(server)));
}

let h: RunningHost;
let outer: Server;
let inner: Server;
const agents: Agent[] = [];
const portOf = (s: Server) => (s.address() as { port: number }).port;

beforeAll(async () => {
  const cgisDir = tempDir('cgihost-cgis-');
  copyProjectCgis(cgisDir, 'account', '_shared');
  h = await startHost({
    cgisDir,
    files: { 'ops/whoami.ts': WHOAMI },
    config: { watch: false, trustProxy: ['127.0.0.20/31', INNER], limits: { login: { accountFailures: 3, addressFailures: 6 } } },
  });
  inner = await proxy(INNER, () => new URL(h.url));
  outer = await proxy(OUTER, () => new URL(`http://${INNER}:${portOf(inner)}`));
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  outer?.close();
  inner?.close();
  await h?.stop();
});

/** A client on loopback address `from`, talking to `base` (the outer proxy by default). */
function client(from: string, base = () => `http://${OUTER}:${portOf(outer)}`) {
  const agent = new Agent({ localAddress: from });
  agents.push(agent);
  return async (name: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> => {
    const res = await undiciFetch(`${base()}/cgi-bin/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      dispatcher: agent,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers as unknown as Headers, body: JSON.parse(text), text };
  };
}

describe('trustProxy', () => {
  it('ctx.ip and the log lines are the client behind two trusted proxies; a spoofed X-Forwarded-For gains nothing', async () => {
    const a = client('127.0.0.30');
    expect((await a('whoami', {})).body).toEqual({ ip: '127.0.0.30' });
    // The client writes its own header: the proxies append to it, and the walk stops at the first untrusted hop.
    const spoof = await a('whoami', { note: 'spoofed' }, { 'x-forwarded-for': '6.6.6.6, 127.0.0.21' });
    expect(spoof.body).toEqual({ ip: '127.0.0.30' });
    await waitFor(() => /"msg":"whoami".*"ip":"127\.0\.0\.30"|"ip":"127\.0\.0\.30".*"msg":"whoami"/.test(h.output()), 5_000, {
      what: 'the log line',
    });
  });

  it('ignores X-Forwarded-For from a peer that is not trusted', async () => {
    const direct = client('127.0.0.31', () => h.url);
    expect((await direct('whoami', {}, { 'x-forwarded-for': '10.1.2.3' })).body).toEqual({ ip: '127.0.0.31' });
    // The trusted proxy itself, connecting directly with no header, is its own client.
    expect((await client(INNER, () => h.url)('whoami', {})).body).toEqual({ ip: INNER });
  });

  it('throttles logins per client behind the proxies, the account budget below the address budget', async () => {
    const victim = uniqueName('pv');
    const regular = uniqueName('pr');
    const bystander = uniqueName('pb');
    for (const u of [victim, regular, bystander]) expect((await register(h, u)).status).toBe(200);
    const guesser = client('127.0.0.40');
    // regular signs in from the guesser's address first (a shared NAT): it stays known there.
    expect((await guesser('login', { username: regular, password: PASSWORD })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await guesser('login', { username: victim, password: `wrong ${i}` })).status);
    expect(statuses).toEqual([401, 401, 401]);
    // The account's budget (3) is spent: even the right password is refused, from anywhere.
    const limited = await client('127.0.0.41')('login', { username: victim, password: PASSWORD });
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Three more guesses at other names spend the address's budget (6)...
    for (let i = 0; i < 3; i++)
      expectError(await guesser('login', { username: uniqueName('nx'), password: 'wrong' }), 401, 'BAD_CREDENTIALS');
    expectError(await guesser('login', { username: bystander, password: PASSWORD }), 429, 'RATE_LIMITED');
    // ...but not for the account that signed in from it before, nor for anyone else behind the same proxies.
    expect((await guesser('login', { username: regular, password: PASSWORD })).status).toBe(200);
    expect((await client('127.0.0.42')('login', { username: bystander, password: PASSWORD })).status).toBe(200);
  });
});
