/**
 * getmedia on a real host: the exact bytes with Content-Type, ETag and
 * Content-Length, conditional requests, single ranges (206 / 416), and 404
 * NO_SUCH_MEDIA for strangers and for any mediaId that is not a stored id,
 * path-like ones included.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mp4, png, sha256 } from './files.js';
import { getMedia, startMediaHost, upload, stopAndClean } from './support.js';
import { newUsers, type RunningHost, type User } from '../helpers/index.js';

let host: RunningHost;
let alice: User;
let mallory: User;
const VIDEO = mp4(100_000);
let id: string;

beforeAll(async () => {
  host = await startMediaHost();
  [alice, mallory] = await newUsers(host, ['alice', 'mallory']);
  const res = await upload(host, VIDEO, 'video/mp4', alice.token);
  if (res.status !== 200) throw new Error(res.text);
  id = res.body.mediaId;
});
afterAll(async () => {
  await stopAndClean(host);
});

describe('getmedia: the whole file', () => {
  it('gives the uploader the exact bytes with Content-Type, ETag and Content-Length', async () => {
    const r = await getMedia(host, id, alice.token);
    expect(r.status).toBe(200);
    expect(r.bytes.equals(VIDEO)).toBe(true);
    expect(r.headers.get('content-type')).toBe('video/mp4');
    expect(r.headers.get('content-length')).toBe(String(VIDEO.length));
    expect(r.headers.get('etag')).toBe(`"${id}"`);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('x-request-id')).toBeTruthy();
    expect(r.headers.get('x-cgi-version')).toBeTruthy();
  });

  it('304 for a matching If-None-Match, 200 for another', async () => {
    const etag = `"${id}"`;
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const r = await getMedia(host, id, alice.token, { 'if-none-match': inm });
      expect(r.status, inm).toBe(304);
      expect(r.bytes.length).toBe(0);
      expect(r.headers.get('etag')).toBe(etag);
    }
    const r = await getMedia(host, id, alice.token, { 'if-none-match': `"${sha256(png())}"` });
    expect(r.status).toBe(200);
    expect(r.bytes.equals(VIDEO)).toBe(true);
  });

  it('HEAD gives the headers without the bytes', async () => {
    const res = await fetch(`${host.url}/cgi-bin/getmedia?mediaId=${id}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(VIDEO.length));
    expect(res.headers.get('etag')).toBe(`"${id}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('401 without a token', async () => {
    const r = await getMedia(host, id);
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('UNAUTHENTICATED');
  });
});

describe('getmedia: ranges', () => {
  const size = VIDEO.length;

  it('bytes=0-9: 206 with Content-Range and exactly those bytes', async () => {
    const r = await getMedia(host, id, alice.token, { range: 'bytes=0-9' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 0-9/${size}`);
    expect(r.headers.get('content-length')).toBe('10');
    expect(r.headers.get('content-type')).toBe('video/mp4');
    expect(r.bytes.equals(VIDEO.subarray(0, 10))).toBe(true);
  });

  it('suffix range bytes=-5: the last five bytes', async () => {
    const r = await getMedia(host, id, alice.token, { range: 'bytes=-5' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes ${size - 5}-${size - 1}/${size}`);
    expect(r.bytes.equals(VIDEO.subarray(size - 5))).toBe(true);
  });

  it('open range bytes=10-: from byte 10 to the end', async () => {
    const r = await getMedia(host, id, alice.token, { range: 'bytes=10-' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 10-${size - 1}/${size}`);
    expect(r.headers.get('content-length')).toBe(String(size - 10));
    expect(r.bytes.equals(VIDEO.subarray(10))).toBe(true);
  });

  it('a middle range, and an end past the size clamped to it', async () => {
    const mid = await getMedia(host, id, alice.token, { range: 'bytes=1000-1999' });
    expect(mid.status).toBe(206);
    expect(mid.bytes.equals(VIDEO.subarray(1000, 2000))).toBe(true);
    const past = await getMedia(host, id, alice.token, { range: `bytes=${size - 3}-${size + 1000}` });
    expect(past.status).toBe(206);
    expect(past.headers.get('content-range')).toBe(`bytes ${size - 3}-${size - 1}/${size}`);
    expect(past.bytes.equals(VIDEO.subarray(size - 3))).toBe(true);
  });

  it('bytes=999999-: 416 with Content-Range bytes */size', async () => {
    const r = await getMedia(host, id, alice.token, { range: 'bytes=999999-' });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe(`bytes */${size}`);
    // The CGI throws CgiError with the header: the answer is the usual error envelope.
    expect(r.json).toMatchObject({ error: { code: 'RANGE_NOT_SATISFIABLE', requestId: r.headers.get('x-request-id') } });
    const exact = await getMedia(host, id, alice.token, { range: `bytes=${size}-` });
    expect(exact.status).toBe(416);
  });

  it('a malformed or multi-range header is ignored: 200 with the whole file', async () => {
    for (const range of ['bytes=abc', 'items=0-9', 'bytes=0-1,5-6', 'bytes=9-0']) {
      const r = await getMedia(host, id, alice.token, { range });
      expect(r.status, range).toBe(200);
      expect(r.bytes.equals(VIDEO)).toBe(true);
    }
  });

  it('If-Range with the ETag honours the range; with another validator sends the whole file', async () => {
    const same = await getMedia(host, id, alice.token, { range: 'bytes=0-9', 'if-range': `"${id}"` });
    expect(same.status).toBe(206);
    expect(same.bytes.equals(VIDEO.subarray(0, 10))).toBe(true);
    const other = await getMedia(host, id, alice.token, { range: 'bytes=0-9', 'if-range': '"stale"' });
    expect(other.status).toBe(200);
    expect(other.bytes.length).toBe(size);
  });
});

describe('getmedia: who may read, and which ids exist', () => {
  it('a stranger gets 404 NO_SUCH_MEDIA, the same answer as for an id never uploaded', async () => {
    const stranger = await getMedia(host, id, mallory.token);
    expect(stranger.status).toBe(404);
    expect(stranger.json.error.code).toBe('NO_SUCH_MEDIA');
    const never = await getMedia(host, sha256(Buffer.from('never uploaded')), mallory.token);
    expect(never.status).toBe(404);
    expect(never.json.error.code).toBe('NO_SUCH_MEDIA');
    // Ranges and validators leak nothing either.
    for (const h of [{ range: 'bytes=0-9' }, { 'if-none-match': `"${id}"` }] as Array<Record<string, string>>) {
      const r = await getMedia(host, id, mallory.token, h);
      expect(r.status).toBe(404);
    }
  });

  it('path-like and malformed mediaIds are 404 NO_SUCH_MEDIA and never reach a file outside the store', async () => {
    // A file that would be served if a mediaId were joined onto a path unchecked.
    writeFileSync(join(host.dataDir, 'secret.txt'), 'TOP SECRET');
    const ids = [
      '../../etc/passwd',
      '..%2F..%2Fetc%2Fpasswd',
      '..%2F..',
      '%2E%2E%2Fsecret.txt',
      '../secret.txt',
      '../../secret.txt',
      `${id.slice(0, 2)}%2F..%2F..%2Fsecret.txt`,
      '/etc/passwd',
      '%2Fetc%2Fpasswd',
      encodeURIComponent(join(host.dataDir, 'secret.txt')),
      encodeURIComponent(join(host.dataDir, 'media', id.slice(0, 2), id)),
      id.slice(0, 63),
      id + 'a',
      id.toUpperCase(),
      `${id}%00`,
      `${id}%2F`,
      `${id.slice(0, 2)}%2F${id}`,
      '',
    ];
    for (const q of ids) {
      const r = await getMedia(host, q, alice.token);
      expect(r.status, q).toBe(404);
      expect(r.json?.error?.code, q).toBe('NO_SUCH_MEDIA');
      expect(r.bytes.toString('latin1')).not.toMatch(/TOP SECRET|root:/);
    }
  });

  it('no mediaId at all is 400 INVALID_INPUT', async () => {
    const r = await host.get('/cgi-bin/getmedia', { token: alice.token });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_INPUT');
  });
});
