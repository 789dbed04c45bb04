/**
 * How the host serves the web client (SPEC §7): `/` and its hashed assets
 * with the right types, caching (the page revalidated, assets immutable),
 * ETags, gzip and brotli, HEAD; the budget of 150 KB of JS and CSS gzipped;
 * and the paths the client must not take from anyone: /cgi-bin/, /healthz,
 * /metrics, /_host/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningHost } from '../helpers/index.js';
import { startChatHost } from './support.js';

const WEB = join(ROOT, 'dist', 'web');
let host: RunningHost;

beforeAll(async () => {
  host = await startChatHost();
}, 120_000);

afterAll(async () => {
  await host?.kill();
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${host.url}${path}`, { method, headers });

/** The assets index.html names: one script, one stylesheet, one icon. */
function named(html: string) {
  const js = /<script type="module" src="(\/assets\/app-[\w-]+\.js)"/.exec(html)?.[1];
  const css = /<link rel="stylesheet" href="(\/assets\/app-[\w-]+\.css)"/.exec(html)?.[1];
  const icon = /<link rel="icon" href="(\/assets\/icon-[\w-]+\.svg)"/.exec(html)?.[1];
  return { js: js!, css: css!, icon: icon! };
}

describe('GET / and /assets/', () => {
  it('serves the page, uncached but with an ETag, and a policy that keeps it on this host', async () => {
    const res = await get('/', { 'accept-encoding': 'identity' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('etag')).toMatch(/^"[\w-]{22}"$/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = res.headers.get('content-security-policy')!;
    for (const d of [
      "default-src 'self'",
      "script-src 'self'",
      "connect-src 'self'",
      "img-src 'self' blob: data:",
      "media-src 'self' blob:",
    ]) {
      expect(csp).toContain(d);
    }
    const html = await res.text();
    expect(html).toBe(readFileSync(join(WEB, 'index.html'), 'utf8'));
    // Everything it loads is on this host: no scheme or protocol-relative URL in the page.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const { js, css, icon } = named(html);
    expect([js, css, icon].every(Boolean)).toBe(true);
    expect((await get('/index.html')).status).toBe(200);
  });

  it('answers 304 to a matching If-None-Match, and HEAD with the headers and no body', async () => {
    const first = await get('/');
    const etag = first.headers.get('etag')!;
    const again = await get('/', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect((await get('/', { 'if-none-match': '"something-else"' })).status).toBe(200);

    const head = await get('/', { 'accept-encoding': 'identity' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(readFileSync(join(WEB, 'index.html')).length));
    expect(head.headers.get('etag')).toBe(etag);
    expect(await head.text()).toBe('');
  });

  it('serves hashed assets immutable, with their types, in brotli or gzip when asked', async () => {
    const { js, css, icon } = named(await (await get('/')).text());
    for (const [path, type] of [
      [js, 'text/javascript; charset=utf-8'],
      [css, 'text/css; charset=utf-8'],
      [icon, 'image/svg+xml'],
    ] as const) {
      const raw = readFileSync(join(WEB, path));
      const plain = await get(path, { 'accept-encoding': 'identity' });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toBe(type);
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.headers.get('vary')).toBe('accept-encoding');
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(Buffer.from(await plain.arrayBuffer()).equals(raw)).toBe(true);

      // Undici's fetch would decode for us: read the encoded bytes with node:http instead.
      const br = await rawGet(path, 'gzip, deflate, br');
      expect(br.headers['content-encoding']).toBe('br');
      expect(brotliDecompressSync(br.body).equals(raw)).toBe(true);
      const gz = await rawGet(path, 'gzip');
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gz.body).equals(raw)).toBe(true);
      // A coding refused with q=0 is not used.
      expect((await rawGet(path, 'br;q=0, gzip')).headers['content-encoding']).toBe('gzip');
      expect(Number(br.headers['content-length'])).toBe(br.body.length);
    }
  });

  it('keeps JS and CSS together within 150 KB gzipped', () => {
    const assets = readdirSync(join(WEB, 'assets')).filter((f) => /\.(js|css)$/.test(f));
    const gzipped = assets.reduce((n, f) => n + gzipSync(readFileSync(join(WEB, 'assets', f)), { level: 9 }).length, 0);
    expect(assets.length).toBe(2);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });

  it('answers other methods with 405 and unknown paths as before', async () => {
    const post = await fetch(`${host.url}/`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    for (const path of ['/nothing/here', '/assets/app-nope.js', '/assets/', '/chat', '/index.htm']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('NO_SUCH_CGI');
    }
  });

  it('leaves /cgi-bin/, /healthz, /metrics and /_host/ to the host', async () => {
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
    const cgi = await fetch(`${host.url}/cgi-bin/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'x', password: 'short' }),
    });
    expect(cgi.status).toBe(400);
    expect(cgi.headers.get('x-cgi-version')).toBeTruthy();
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('cgihost_requests_total');
    const dashboard = await get('/_host/');
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).not.toBe(readFileSync(join(WEB, 'index.html'), 'utf8'));
  });
});

function rawGet(path: string, acceptEncoding: string): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return import('node:http').then(
    ({ get: httpGet }) =>
      new Promise((resolve, reject) => {
        httpGet(`${host.url}${path}`, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        }).on('error', reject);
      }),
  );
}
