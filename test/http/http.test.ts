/**
 * SPEC §3 over a real host: routing, headers, the error envelope and the
 * codes the host itself produces, body limits enforced while reading.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX12 } from '../host/support.js';
import { cgiSummary, expectError, type RunningHost, sleep, startHost, waitFor } from '../helpers/index.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: {
      'basic/echo.ts': '@basic/echo.ts',
      'basic/get_cgi.ts': '@basic/get_cgi.ts',
      'basic/user_only.ts': '@basic/user_only.ts',
      'basic/throws.ts': '@basic/throws.ts',
      'basic/throws_cgierror.ts': '@basic/throws_cgierror.ts',
      'basic/bad_output.ts': '@basic/bad_output.ts',
    },
    config: { watch: false },
  });
});

afterAll(async () => {
  await host?.kill();
});

/** A raw node:http request, for what fetch cannot do (a Content-Length it does not send, a paced chunked body). */
interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Body bytes the client had written when the response head arrived. */
  sentWhenAnswered: number;
}

function rawPost(path: string, opts: { contentLength?: number; chunk: Buffer; maxBytes: number }): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (opts.contentLength !== undefined) headers['content-length'] = opts.contentLength;
    // A fresh connection: one whose request body was abandoned half-way cannot carry another request.
    const req = request(`${host.url}${path}`, { method: 'POST', headers, agent: false });
    // A host that waits for the whole body never answers this request.
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within 5 s; ${sent} bytes sent`));
    }, 5_000);
    req.on('response', (res) => {
      clearTimeout(timer);
      answered = true;
      const sentWhenAnswered = sent;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, sentWhenAnswered }));
      res.on('error', reject);
    });
    // Writes after the server answered and closed may fail (EPIPE / ECONNRESET): that is expected here.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = async () => {
      while (!answered && sent < opts.maxBytes && !req.destroyed) {
        const ok = req.write(opts.chunk);
        sent += opts.chunk.length;
        // Pace the upload, so "answered before the body was sent" is observable over loopback (the pacing is the point).
        await sleep(ok ? 2 : 10);
      }
      if (!answered && !req.destroyed) req.end();
    };
    void pump();
  });
}

describe('a CGI answer', () => {
  it('is the output as JSON, 200, with x-request-id and x-cgi-version', async () => {
    const res = await host.post('echo', { text: 'hi' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ echo: 'hi' });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(res.headers.get('x-cgi-version')).toMatch(HEX12);
  });

  it('gives every request its own request id', async () => {
    const [a, b] = await Promise.all([host.post('echo', { text: 'a' }), host.post('echo', { text: 'b' })]);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });

  it('echoes a client-sent x-request-id', async () => {
    const res = await host.post('echo', { text: 'x' }, { headers: { 'x-request-id': 'client-req.42:abc' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('client-req.42:abc');
    const err = await host.post('echo', '{', { headers: { 'x-request-id': 'client-req-err' } });
    expectError(err, 400, 'INVALID_JSON');
    expect(err.body.error.requestId).toBe('client-req-err');
  });

  it('replaces a client-sent x-request-id that is not a safe token', async () => {
    const res = await host.post('echo', { text: 'x' }, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).not.toBe('bad id with spaces');
    expect(res.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });

  it('serves a GET CGI from its query string', async () => {
    const res = await host.get('/cgi-bin/get_cgi?name=ann');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hello: 'ann' });
    expect(res.headers.get('x-cgi-version')).toMatch(HEX12);
  });

  it('validates a GET CGI query string against its input schema', async () => {
    const res = await host.get('/cgi-bin/get_cgi');
    expectError(res, 400, 'INVALID_INPUT');
    expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['name'] })]));
  });

  it('answers /healthz with {"status":"ok"}', async () => {
    const res = await host.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('host errors (SPEC §3)', () => {
  it('400 INVALID_JSON for a body that is not JSON', async () => {
    const res = await host.post('echo', '{"text": ');
    expectError(res, 400, 'INVALID_JSON');
    expect(res.headers.get('x-cgi-version')).toMatch(HEX12);
  });

  it('400 INVALID_INPUT with the zod issues in details', async () => {
    const res = await host.post('echo', { text: 42 });
    expectError(res, 400, 'INVALID_INPUT');
    const issues = res.body.error.details;
    expect(Array.isArray(issues)).toBe(true);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'invalid_type', path: ['text'], expected: 'string' });
    expect(typeof issues[0].message).toBe('string');
  });

  it('400 INVALID_INPUT for a missing field and for a value over its max', async () => {
    const missing = await host.post('echo', {});
    expectError(missing, 400, 'INVALID_INPUT');
    expect(missing.body.error.details[0]).toMatchObject({ path: ['text'] });
    const long = await host.post('echo', { text: 'x'.repeat(101) });
    expectError(long, 400, 'INVALID_INPUT');
    expect(long.body.error.details[0]).toMatchObject({ code: 'too_big', path: ['text'] });
  });

  it('405 METHOD_NOT_ALLOWED with allow: POST for a GET on a POST CGI', async () => {
    const res = await host.get('/cgi-bin/echo?text=hi');
    expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('405 METHOD_NOT_ALLOWED with allow: GET for a POST on a GET CGI', async () => {
    const res = await host.post('get_cgi', { name: 'ann' });
    expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('404 NO_SUCH_CGI for an unknown CGI name', async () => {
    const res = await host.post('no_such_thing', {});
    expectError(res, 404, 'NO_SUCH_CGI');
    expect(res.headers.get('x-cgi-version')).toBeNull();
  });

  it('404 NO_SUCH_CGI for a path outside /cgi-bin/', async () => {
    for (const path of ['/', '/nothing/here', '/cgi-bin', '/cgi-bin/']) {
      const res = await host.get(path);
      expectError(res, 404, 'NO_SUCH_CGI');
    }
  });

  it('401 UNAUTHENTICATED on an auth: user CGI without a token', async () => {
    const res = await host.post('user_only', {});
    expectError(res, 401, 'UNAUTHENTICATED');
  });

  it('401 UNAUTHENTICATED on an auth: user CGI with a bogus token', async () => {
    const bogus = await host.post('user_only', {}, { token: 'bogus-token-0123456789abcdef0123' });
    expectError(bogus, 401, 'UNAUTHENTICATED');
    const notBearer = await host.post('user_only', {}, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expectError(notBearer, 401, 'UNAUTHENTICATED');
  });
});

describe('body limits (64 KiB JSON by default)', () => {
  it('accepts a body just under the limit', async () => {
    // {"text":"…"} with text over the schema max: the body is read and validated, not refused as too large.
    const body = JSON.stringify({ text: 'y'.repeat(60 * 1024) });
    expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
    const res = await host.post('echo', body);
    expectError(res, 400, 'INVALID_INPUT');
  });

  it('413 PAYLOAD_TOO_LARGE from Content-Length, without reading the body', async () => {
    // Declares 10 MiB and sends only 1 KiB: an answer means the host did not wait for the rest.
    const res = await rawPost('/cgi-bin/echo', { contentLength: 10 * 1024 * 1024, chunk: Buffer.alloc(1024, 0x20), maxBytes: 1024 });
    expect(res.status).toBe(413);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.error.requestId).toBe(res.headers['x-request-id']);
  });

  it('413 PAYLOAD_TOO_LARGE for a chunked body, before 1 MB has been sent', async () => {
    const res = await rawPost('/cgi-bin/echo', { chunk: Buffer.alloc(16 * 1024, 0x20), maxBytes: 1024 * 1024 });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.sentWhenAnswered).toBeGreaterThan(64 * 1024);
    expect(res.sentWhenAnswered).toBeLessThan(1024 * 1024);
  });

  it('still serves after refusing large bodies', async () => {
    const res = await host.post('echo', { text: 'after' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ echo: 'after' });
  });
});

describe('what a CGI throws', () => {
  it('a CgiError passes through with its status, code, message and details', async () => {
    const res = await host.post('throws_cgierror', {});
    expectError(res, 403, 'FORBIDDEN');
    expect(res.body.error.message).toBe('not for you');
    expect(res.body.error.details).toEqual({ reason: 'fixture', n: 1 });
    expect(res.headers.get('x-cgi-version')).toMatch(HEX12);
  });

  it('anything else is a 500 INTERNAL that reveals nothing', async () => {
    const res = await host.post('throws', {});
    expectError(res, 500, 'INTERNAL');
    expect(res.body.error.details).toBeUndefined();
    for (const secret of ['hunter2', '/srv/secret', 'db password', 'Error:', 'at ', '.ts']) expect(res.text).not.toContain(secret);
    // The operator still learns what happened: the host logs it with the request id.
    // (Log lines of one event-loop turn leave in one write, just after the answer may have: wait for it.)
    const requestId = res.body.error.requestId;
    await waitFor(() => host.output().includes(requestId), 10_000);
    expect(host.output()).toContain('hunter2');
  });

  it('logs what the CGI threw with its stack in TypeScript lines (source maps)', async () => {
    const res = await host.post('throws', {});
    expectError(res, 500, 'INTERNAL');
    const logged = () =>
      host
        .output()
        .split('\n')
        .find((l) => l.includes(res.body.error.requestId) && l.includes('hunter2'));
    await waitFor(() => logged() !== undefined, 10_000);
    const line = logged();
    // fixtures/cgis/basic/throws.ts line 11 is the `throw`.
    expect(line).toMatch(/basic\/throws\.ts:11:/);
  });

  it('an output that fails its schema is a 500 INTERNAL', async () => {
    const res = await host.post('bad_output', {});
    expectError(res, 500, 'INTERNAL');
    expect(res.text).not.toContain('not a number');
  });

  it('the worker that threw keeps serving: no restart', async () => {
    const again = await host.post('throws', {});
    expectError(again, 500, 'INTERNAL');
    expect((await cgiSummary(host, 'throws')).restarts).toBe(0);
    expect((await cgiSummary(host, 'bad_output')).restarts).toBe(0);
    expect((await cgiSummary(host, 'throws_cgierror')).restarts).toBe(0);
  });
});
