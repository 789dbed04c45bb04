/**
 * SPEC §5 admin authentication: with an admin token (config or
 * CGIHOST_ADMIN_TOKEN) /metrics, /_host/ and /_host/api/ want it as a Bearer
 * token; without one they are served to loopback clients only.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminDenied, SESSION_SECONDS, sessionValue, validSession } from '../../src/http/admin/auth.js';
import { CGIS } from './support.js';
import { type RunningHost, startHost } from '../helpers/index.js';

const ADMIN_PATHS = ['/metrics', '/_host/', '/_host', '/_host/api/cgis', '/_host/api/overview', '/_host/api/series', '/_host/api/alerts'];
const CONFIG_TOKEN = 'config-token-0123456789';
const ENV_TOKEN = 'env-token-9876543210';

let withConfigToken: RunningHost;
let withEnvToken: RunningHost;
let open: RunningHost;

beforeAll(async () => {
  const files = { 'demo/ok.ts': CGIS['demo/ok.ts'] };
  [withConfigToken, withEnvToken, open] = await Promise.all([
    startHost({ files, config: { watch: false, adminToken: CONFIG_TOKEN } }),
    startHost({ files, config: { watch: false }, env: { CGIHOST_ADMIN_TOKEN: ENV_TOKEN } }),
    startHost({ files, config: { watch: false }, env: { CGIHOST_ADMIN_TOKEN: '' } }),
  ]);
});

afterAll(async () => {
  await Promise.all([withConfigToken?.kill(), withEnvToken?.kill(), open?.kill()]);
});

describe.each([
  ['adminToken in the config', () => withConfigToken, CONFIG_TOKEN],
  ['CGIHOST_ADMIN_TOKEN', () => withEnvToken, ENV_TOKEN],
])('with %s', (_what, host, token) => {
  it('no token: 401 UNAUTHENTICATED (JSON envelope, WWW-Authenticate)', async () => {
    for (const path of ADMIN_PATHS) {
      const res = await host().get(path);
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 401, code: 'UNAUTHENTICATED' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
    }
  });

  it('a wrong token: 401', async () => {
    for (const wrong of [token + 'x', token.slice(0, -1), 'nope']) {
      const res = await host().get('/metrics', { token: wrong });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
    const basic = await host().get('/_host/api/cgis', { headers: { authorization: `Basic ${token}` } });
    expect(basic.status).toBe(401);
  });

  it('the right token: 200 on every admin path', async () => {
    for (const path of ADMIN_PATHS) {
      const res = await host().get(path, { token });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });

  it('a browser asking for the page without a token gets the sign-in page (401, HTML)', async () => {
    const res = await host().get('/_host/', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('action="/_host/login"');
    // The API and /metrics stay JSON for any client.
    const api = await host().get('/_host/api/cgis', { headers: { accept: 'text/html' } });
    expect(api.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('signing in with the token sets a cookie that reads the admin API and the page, but changes nothing', async () => {
    const res = await fetch(`${host().url}/_host/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/_host/');
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^cgihost_admin=\d+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    // The cookie is made from the token, not the token itself.
    expect(setCookie).not.toContain(token);
    const cookie = setCookie.split(';')[0]!;
    for (const path of ADMIN_PATHS)
      expect({ path, status: (await host().get(path, { headers: { cookie } })).status }).toEqual({ path, status: 200 });
    // Writes need the Bearer token: a cookie a browser sends by itself must not move a canary.
    const post = await fetch(`${host().url}/_host/api/cgis/ok/canary`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ percent: 10 }),
    });
    expect(post.status).toBe(401);
    const forged = await host().get('/_host/api/cgis', { headers: { cookie: cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) } });
    expect(forged.status).toBe(401);
  });

  it('refuses a wrong token on sign-in: 401, no cookie', async () => {
    const res = await fetch(`${host().url}/_host/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: token + 'x' }),
      redirect: 'manual',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it('/healthz and the CGIs need no admin token', async () => {
    expect((await host().get('/healthz')).status).toBe(200);
    expect((await host().post('ok', { text: 'x' })).status).toBe(200);
  });
});

describe('without an admin token', () => {
  it('serves every admin path to a loopback client', async () => {
    for (const path of ADMIN_PATHS) {
      const res = await open.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });

  it('answers unknown admin paths 404 and wrong methods 405', async () => {
    expect((await open.get('/_host/api/nope')).status).toBe(404);
    expect((await open.get('/_host/nope')).status).toBe(404);
    const res = await fetch(`${open.url}/metrics`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('sign-in throttling', () => {
  it('answers 429 with retry-after after 10 wrong tokens from one address in a minute, even for the right one', async () => {
    const h = await startHost({ config: { watch: false, adminToken: CONFIG_TOKEN } });
    try {
      const login = (t: string) =>
        fetch(`${h.url}/_host/login`, { method: 'POST', body: JSON.stringify({ token: t }), redirect: 'manual' });
      for (let i = 0; i < 10; i++) expect((await login(`wrong-${i}`)).status).toBe(401);
      const blocked = await login(CONFIG_TOKEN);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // The Bearer token itself still works: only guessing through the form is slowed down.
      expect((await h.get('/_host/api/cgis', { token: CONFIG_TOKEN })).status).toBe(200);
    } finally {
      await h.kill();
    }
  });
});

describe('the session cookie', () => {
  it('expires, and stops working when the admin token changes', () => {
    const now = 1_764_000_000_000;
    const cookie = `cgihost_admin=${sessionValue('token-one', now)}`;
    expect(validSession(cookie, 'token-one', now + 1_000)).toBe(true);
    expect(validSession(`other=1; ${cookie}`, 'token-one', now + 1_000)).toBe(true);
    expect(validSession(cookie, 'token-one', now + SESSION_SECONDS * 1000 + 1)).toBe(false);
    expect(validSession(cookie, 'token-two', now + 1_000)).toBe(false);
    expect(validSession(undefined, 'token-one', now)).toBe(false);
  });
});

describe('adminDenied (the check itself, with a fake client address)', () => {
  const req = (remoteAddress: string | undefined, authorization?: string) =>
    ({ headers: authorization ? { authorization } : {}, socket: { remoteAddress } }) as unknown as IncomingMessage;

  it('without a token: loopback in, everyone else 403 FORBIDDEN', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(adminDenied(req(a), undefined)).toBeNull();
    for (const a of ['10.0.0.5', '192.168.1.20', '::ffff:10.1.2.3', 'fe80::1', '2001:db8::1', undefined]) {
      expect(adminDenied(req(a), undefined)?.code).toBe('FORBIDDEN');
    }
  });

  it('with a token: only the token counts, from anywhere', () => {
    expect(adminDenied(req('10.0.0.5', 'Bearer s3cret-token'), 's3cret-token')).toBeNull();
    expect(adminDenied(req('127.0.0.1'), 's3cret-token')?.code).toBe('UNAUTHENTICATED');
    expect(adminDenied(req('10.0.0.5', 'Bearer s3cret-tokeN'), 's3cret-token')?.code).toBe('UNAUTHENTICATED');
    expect(adminDenied(req('10.0.0.5', 's3cret-token'), 's3cret-token')?.code).toBe('UNAUTHENTICATED');
  });
});
