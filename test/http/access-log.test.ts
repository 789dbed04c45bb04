/**
 * The access log: one `request` line at info per HTTP request, once it is
 * answered (method, path, status, ms, requestId; cgi, version and uid when a
 * CGI served it), and none with `log.access: false`.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgiSummary, ROOT, startHost, tempDir, waitFor, writeCgis, type RunningHost } from '../helpers/index.js';

interface Line {
  level: string;
  msg: string;
  method: string;
  path: string;
  status: number;
  ms: number;
  requestId: string;
  cgi?: string;
  version?: string;
  uid?: string;
}

function requestLines(h: RunningHost): Line[] {
  const out: Line[] = [];
  for (const l of h.output().split('\n')) {
    if (!l.startsWith('{')) continue;
    const parsed = JSON.parse(l) as Line;
    if (parsed.msg === 'request') out.push(parsed);
  }
  return out;
}

/** The built-in account CGIs (for a real uid) and the echo fixture. */
function cgisDir(): string {
  const dir = tempDir('cgihost-cgis-');
  cpSync(join(ROOT, 'cgis/account'), join(dir, 'account'), { recursive: true });
  cpSync(join(ROOT, 'cgis/_shared'), join(dir, '_shared'), { recursive: true });
  writeCgis(dir, { 'basic/echo.ts': '@basic/echo.ts', 'basic/user_only.ts': '@basic/user_only.ts', 'slow/slow.ts': '@slow/slow.ts' });
  return dir;
}

describe('access log on (the default)', () => {
  let h: RunningHost;
  beforeAll(async () => {
    h = await startHost({ cgisDir: cgisDir(), config: { watch: false } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('writes one line per request: 150 requests, 150 lines, each with its answer’s request id', async () => {
    const before = requestLines(h).length;
    const ids: string[] = [];
    for (let i = 0; i < 150; i += 15) {
      const batch = await Promise.all(Array.from({ length: 15 }, (_, j) => h.post('echo', { text: `n${i + j}` })));
      for (const r of batch) ids.push(r.headers.get('x-request-id')!);
    }
    await waitFor(() => requestLines(h).length - before >= 150);
    const lines = requestLines(h).slice(before);
    expect(lines).toHaveLength(150);
    expect(new Set(lines.map((l) => l.requestId))).toEqual(new Set(ids));
    for (const l of lines) {
      expect(l).toMatchObject({ level: 'info', method: 'POST', path: '/cgi-bin/echo', status: 200, cgi: 'echo' });
      expect(l.version).toMatch(/^[0-9a-f]{12}$/);
      expect(l.ms).toBeGreaterThan(0);
      expect(l.uid).toBeUndefined();
    }
  });

  it("names the caller's uid, and logs errors and paths that are not CGIs", async () => {
    const username = `access_${process.pid}`;
    const reg = await h.post('register', { username, password: 'correct horse battery' });
    const login = await h.post('login', { username, password: 'correct horse battery' });
    expect(login.status, login.text).toBe(200);
    const me = await h.post('user_only', {}, { token: login.body.token });
    const anonymous = await h.post('user_only', {});
    const bad = await h.post('echo', '{not json');
    const missing = await h.post('nope', {});
    const health = await h.get('/healthz?probe=1');
    const want = [
      { r: me, line: { path: '/cgi-bin/user_only', status: 200, cgi: 'user_only', uid: reg.body.uid } },
      { r: anonymous, line: { path: '/cgi-bin/user_only', status: 401, cgi: 'user_only' } },
      { r: bad, line: { path: '/cgi-bin/echo', status: 400, cgi: 'echo' } },
      { r: missing, line: { path: '/cgi-bin/nope', status: 404 } },
      // The query string is left out.
      { r: health, line: { method: 'GET', path: '/healthz', status: 200 } },
    ];
    for (const { r, line } of want) {
      const id = r.headers.get('x-request-id')!;
      const found = await waitFor(() => requestLines(h).find((l) => l.requestId === id));
      expect(found).toMatchObject(line);
      if (!('uid' in line)) expect(found!.uid).toBeUndefined();
    }
  });

  it('logs a request whose client went away before the answer as 499', async () => {
    const controller = new AbortController();
    const held = fetch(`${h.url}/cgi-bin/slow`, {
      method: 'POST',
      body: '{"ms":20000}',
      headers: { 'x-request-id': 'gone-away-1' },
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(async () => (await cgiSummary(h, 'slow')).inflight === 1);
    controller.abort();
    await held;
    const line = await waitFor(() => requestLines(h).find((l) => l.requestId === 'gone-away-1'));
    expect(line).toMatchObject({ path: '/cgi-bin/slow', status: 499, cgi: 'slow' });
  });
});

it('writes no request lines with log.access: false', async () => {
  const h = await startHost({
    files: { 'basic/echo.ts': '@basic/echo.ts', 'basic/throws.ts': '@basic/throws.ts' },
    config: { watch: false, log: { access: false } },
  });
  try {
    for (let i = 0; i < 20; i++) expect((await h.post('echo', { text: 'quiet' })).status).toBe(200);
    // A line logged after those requests were answered: had they been logged, their lines would be before it.
    const marker = (await h.post('throws', {})).headers.get('x-request-id');
    await waitFor(() => h.output().includes(`"requestId":"${marker}"`));
    expect(requestLines(h)).toEqual([]);
  } finally {
    await h.stop();
  }
});
