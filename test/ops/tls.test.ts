/**
 * HTTPS on the same port (SPEC §10) with a self-signed certificate made here
 * with openssl, and its reload on SIGHUP: new connections get the new
 * certificate, open ones (a keep-alive socket, a held long-poll) go on
 * undisturbed, and a pair that does not match is refused with the old one kept.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_CGIS, startHost, tempDir, waitFor, type RunningHost } from '../helpers/index.js';

const dir = tempDir('cgihost-tls-');
const CERT = join(dir, 'cert.pem');
const KEY = join(dir, 'key.pem');

/** A fresh self-signed certificate for 127.0.0.1 and its key, as PEM text. */
function makeCert(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=cgihost test ${name}`,
    ],
    { stdio: 'pipe' },
  );
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

let first: { cert: string; key: string };
let h: RunningHost;
beforeAll(async () => {
  first = makeCert('first');
  writeFileSync(CERT, first.cert);
  writeFileSync(KEY, first.key);
  h = await startHost({ cgisDir: PROJECT_CGIS, config: { watch: false, tls: { cert: CERT, key: KEY } } });
});
afterAll(async () => {
  await h?.stop();
});

interface Answer {
  status: number;
  body: string;
  fingerprint: string;
  reused: boolean;
}

/** One https request to the host trusting `ca` only (the name is not checked: the certificate names no host), on a new connection unless `opts.agent` is given. */
function get(path: string, ca: string, opts: RequestOptions = {}, body?: string, onSecure?: () => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${h.url}${path}`,
      {
        ca,
        agent: false,
        checkServerIdentity: () => undefined,
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...opts,
      },
      (res) => {
        const fp = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: text,
            fingerprint: fp,
            reused: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    if (onSecure) req.on('socket', (socket) => socket.once('secureConnect', onSecure));
    req.end(body);
  });
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('tls', () => {
  it('serves HTTPS on the port and says so; plain HTTP there gets no answer', async () => {
    expect(h.output()).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    const r = await get('/healthz', first.cert);
    expect(r.status).toBe(200);
    expect(r.fingerprint).toBe(fingerprint(first.cert));
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest(`http://127.0.0.1:${h.port}/healthz`, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(plain).toMatch(/^error/);
  });

  it('SIGHUP reloads the certificate for new connections without dropping open ones', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get('/healthz', first.cert, { agent })).fingerprint).toBe(fingerprint(first.cert));
      // A long-poll held over TLS across the reload.
      const reg = await get(
        '/cgi-bin/register',
        first.cert,
        {},
        JSON.stringify({ username: 'tls_user', password: 'correct horse battery' }),
      );
      expect(reg.status, reg.body).toBe(200);
      const login = await get(
        '/cgi-bin/login',
        first.cert,
        {},
        JSON.stringify({ username: 'tls_user', password: 'correct horse battery' }),
      );
      const token = JSON.parse(login.body).token;
      // Made before the long-poll starts: openssl blocks this thread, and the poll's handshake must finish before the reload.
      const second = makeCert('second');
      let secured!: () => void;
      const handshaken = new Promise<void>((r) => (secured = r));
      const held = get(
        '/cgi-bin/sync',
        first.cert,
        { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
        JSON.stringify({ syncKey: 0, timeoutMs: 3_000 }),
        () => secured(),
      );
      await handshaken;

      writeFileSync(CERT, second.cert);
      writeFileSync(KEY, second.key);
      const before = h.output().length;
      h.proc.kill('SIGHUP');
      await waitFor(() => h.output().slice(before).includes('tls certificate reloaded'), 10_000, { what: 'the reload log line' });

      // The keep-alive socket opened before the reload (with the old certificate) is used again.
      const again = await get('/healthz', first.cert, { agent });
      expect(again).toMatchObject({ status: 200, reused: true });
      expect((await held).status).toBe(200);
      // New connections get the new certificate; a client trusting only the old one is refused.
      expect((await get('/healthz', second.cert)).fingerprint).toBe(fingerprint(second.cert));
      await expect(get('/healthz', first.cert)).rejects.toThrow();

      // A key that is not the certificate's: refused, logged, the current pair stays.
      writeFileSync(KEY, first.key);
      const mark = h.output().length;
      h.proc.kill('SIGHUP');
      await waitFor(() => h.output().slice(mark).includes('tls certificate not reloaded'), 10_000, { what: 'the refusal' });
      expect((await get('/healthz', second.cert)).fingerprint).toBe(fingerprint(second.cert));
      expect(h.proc.exitCode).toBeNull();
    } finally {
      agent.destroy();
    }
  });

  it('a host without tls takes SIGHUP and keeps serving', async () => {
    const plain = await startHost({ config: { watch: false } });
    try {
      plain.proc.kill('SIGHUP');
      await waitFor(() => plain.output().includes('SIGHUP'), 10_000, { what: 'the SIGHUP log line' });
      expect((await plain.get('/healthz')).status).toBe(200);
    } finally {
      await plain.stop();
    }
  });
});
