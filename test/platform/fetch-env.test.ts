/**
 * SPEC §8 ctx.fetch and ctx.env through a real host. ctx.fetch refuses
 * loopback, private and link-local addresses — by the address it would
 * connect to, so a name that resolves to one is refused too, and so is a
 * redirect to one — unless the group's fetchAllow lists the host, the
 * host:port or a CIDR block; it times out, caps answers at 10 MiB, and
 * counts every call. ctx.env is the group's config, overridden by
 * CGIHOST_ENV_<GROUP>_<KEY>.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost } from '../helpers/index.js';
import { scrape, value as sample } from '../helpers/index.js';

let host: RunningHost;
let target: Server;
let other: Server;
let port: number;
let otherPort: number;

async function listen(s: Server, address: string): Promise<number> {
  await new Promise<void>((r) => s.listen(0, address, r));
  return (s.address() as AddressInfo).port;
}

beforeAll(async () => {
  target = createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/` }).end();
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': String(11 * 2 ** 20) }).end(Buffer.alloc(11 * 2 ** 20));
      return;
    }
    if (req.url === '/bigchunked') {
      res.writeHead(200);
      for (let i = 0; i < 11; i++) res.write(Buffer.alloc(2 ** 20));
      res.end();
      return;
    }
    res.end(`hello from ${req.url}`);
  });
  other = createServer((_req, res) => res.end('other'));
  port = await listen(target, '127.0.0.1');
  otherPort = await listen(other, '127.0.0.1');
  host = await startHost({
    files: {
      'deny/fetchdeny.ts': '@platform/fetcher.ts',
      'byport/fetchport.ts': '@platform/fetcher.ts',
      'bycidr/fetchcidr.ts': '@platform/fetcher.ts',
      'byname/fetchname.ts': '@platform/fetcher.ts',
      'envg/envg.ts': '@platform/env.ts',
      'envh/envh.ts': '@platform/env.ts',
    },
    config: {
      watch: false,
      cgiGroups: {
        byport: { fetchAllow: [`127.0.0.1:${port}`] },
        bycidr: { fetchAllow: ['127.0.0.0/8'] },
        byname: { fetchAllow: ['localhost', '::1'] },
        envg: { env: { PLAIN: 'from config', SECRET: '', apiKey: 'k0' } },
      },
    },
    env: {
      CGIHOST_ENV_ENVG_SECRET: 's3cret',
      CGIHOST_ENV_ENVG_APIKEY: 'k1',
      CGIHOST_ENV_ENVG_UNDECLARED: 'x',
      CGIHOST_ENV_ENVH_PLAIN: 'not declared in envh',
    },
  });
}, 60_000);

afterAll(async () => {
  await host?.kill();
  target?.closeAllConnections();
  target?.close();
  other?.close();
});

const fetchVia = async (cgi: string, url: string, timeoutMs?: number) => (await host.post(cgi, { url, timeoutMs })).body;

describe('ctx.fetch refuses loopback, private and link-local addresses by default', () => {
  it('IP literals, and names that resolve to one, are refused with a message naming fetchAllow', async () => {
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://localhost:${port}/`,
      `http://[::1]:${port}/`,
      'http://10.1.2.3/',
      'http://192.168.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://0.0.0.0/',
    ]) {
      const r = await fetchVia('fetchdeny', url);
      expect(r, url).toMatchObject({ error: 'FetchRefusedError' });
      expect(r.message, url).toMatch(/ctx\.fetch refused .*(loopback|private|link-local|this network)/);
      expect(r.message).toMatch(/"cgiGroups": \{"deny": \{"fetchAllow"/);
    }
  });

  it('only http and https', async () => {
    const r = await fetchVia('fetchdeny', 'file:///etc/passwd');
    expect(r).toMatchObject({ error: 'TypeError' });
  });
});

describe('fetchAllow', () => {
  it('host:port allows that port only, and a redirect elsewhere is refused', async () => {
    expect(await fetchVia('fetchport', `http://127.0.0.1:${port}/a`)).toEqual({ status: 200, text: 'hello from /a' });
    expect(await fetchVia('fetchport', `http://127.0.0.1:${otherPort}/`)).toMatchObject({ error: 'FetchRefusedError' });
    expect(await fetchVia('fetchport', `http://127.0.0.1:${port}/redirect`)).toMatchObject({ error: 'FetchRefusedError' });
  });

  it('a CIDR block allows its addresses, whatever name leads there', async () => {
    expect(await fetchVia('fetchcidr', `http://127.0.0.1:${otherPort}/`)).toEqual({ status: 200, text: 'other' });
    expect(await fetchVia('fetchcidr', `http://127.0.0.1:${port}/redirect`)).toEqual({ status: 200, text: 'other' });
    expect(await fetchVia('fetchcidr', `http://localhost:${port}/via-name`)).toEqual({ status: 200, text: 'hello from /via-name' });
    expect(await fetchVia('fetchcidr', 'http://10.0.0.1/')).toMatchObject({ error: 'FetchRefusedError' });
  });

  it('a host name allows that name on any port', async () => {
    const r = await fetchVia('fetchname', `http://localhost:${port}/n`);
    // localhost may resolve to ::1 first, where nothing listens: allowed all the same (not refused).
    expect(r.error).not.toBe('FetchRefusedError');
    expect(await fetchVia('fetchname', `http://127.0.0.1:${port}/`)).toMatchObject({ error: 'FetchRefusedError' });
  });
});

describe('limits', () => {
  it('times out after timeoutMs', async () => {
    const r = await fetchVia('fetchcidr', `http://127.0.0.1:${port}/hang`, 300);
    expect(r).toMatchObject({ error: 'TimeoutError' });
    expect(r.message).toMatch(/timed out after 300 ms/);
  });

  it('answers over 10 MiB are refused, by their length or while they stream', async () => {
    expect((await fetchVia('fetchcidr', `http://127.0.0.1:${port}/big`)).message).toMatch(/over the 10485760-byte limit/);
    expect((await fetchVia('fetchcidr', `http://127.0.0.1:${port}/bigchunked`)).message).toMatch(/over the 10485760-byte limit/);
  });

  it('every call is counted in cgihost_fetch_requests_total{group,host,status}', async () => {
    const m = (await waitFor(async () => {
      const s = await scrape(host);
      return (sample(s, 'cgihost_fetch_requests_total', { group: 'bycidr', status: 'timeout' }) ?? 0) >= 1 ? s : undefined;
    }))!;
    expect(sample(m, 'cgihost_fetch_requests_total', { group: 'deny', host: `127.0.0.1:${port}`, status: 'refused' })).toBe(1);
    expect(sample(m, 'cgihost_fetch_requests_total', { group: 'byport', host: `127.0.0.1:${port}`, status: '200' })).toBe(1);
    expect(sample(m, 'cgihost_fetch_requests_total', { group: 'deny', status: 'refused' })).toBeGreaterThanOrEqual(9);
  });
});

describe('config', () => {
  it('a fetchAllow entry that is no host, host:port or CIDR stops the host at start (exit 2), naming the key', async () => {
    const bad = await startHost({ config: { cgiGroups: { g: { fetchAllow: ['10.0.0.0/33'] } } } }).catch((e: Error) => e);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toMatch(/exited with 2[\s\S]*cgiGroups\.g\.fetchAllow\.0/);
  });
});

describe('ctx.env', () => {
  it('is the group’s config, each declared key overridden by CGIHOST_ENV_<GROUP>_<KEY>; other groups see nothing of it', async () => {
    expect((await host.post('envg', {})).body).toEqual({ group: 'envg', env: { PLAIN: 'from config', SECRET: 's3cret', apiKey: 'k1' } });
    expect((await host.post('envh', {})).body).toEqual({ group: 'envh', env: {} });
  });
});
