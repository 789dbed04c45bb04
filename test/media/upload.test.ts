/**
 * uploadmedia on a real host: every accepted type, content addressing and
 * dedup, the 415s, 401, the per-kind 413 answered before the body is read,
 * and no half file after an interrupted upload or a crash mid-upload.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg, mp4, ogg, png, samples, sha256, webm } from './files.js';
import { mediaFiles, mediaPath, startMediaHost, streamUpload, tmpFiles, upload, stopAndClean } from './support.js';
import { newUsers, type RunningHost, type User, waitFor } from '../helpers/index.js';

const MiB = 1024 * 1024;
let host: RunningHost;
let alice: User;
let bob: User;

beforeAll(async () => {
  host = await startMediaHost();
  [alice, bob] = await newUsers(host, ['alice', 'bob']);
});
afterAll(async () => {
  await stopAndClean(host);
});

describe('uploadmedia: accepted types', () => {
  it('stores each accepted type under the SHA-256 of its bytes', async () => {
    for (const s of samples()) {
      const res = await upload(host, s.bytes, s.contentType, alice.token);
      expect(res.status, `${s.contentType}: ${res.text}`).toBe(200);
      expect(res.body).toEqual({ mediaId: sha256(s.bytes), kind: s.kind, contentType: s.contentType, size: s.bytes.length });
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(readFileSync(mediaPath(host, res.body.mediaId))).toEqual(s.bytes);
    }
  });

  it('takes a Content-Type with parameters and in another case', async () => {
    const bytes = png();
    const res = await upload(host, bytes, 'Image/PNG; charset=binary', alice.token);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ mediaId: sha256(bytes), contentType: 'image/png' });
  });

  it("takes a browser's voice recording, audio/webm;codecs=opus, as voice (a parameter never turns an accepted type into a 415)", async () => {
    for (const type of ['audio/webm;codecs=opus', 'audio/webm; codecs="opus"', 'audio/ogg;codecs=opus']) {
      const bytes = type.startsWith('audio/webm') ? webm() : ogg();
      const res = await upload(host, bytes, type, alice.token);
      expect(res.status, `${type}: ${res.text}`).toBe(200);
      expect(res.body).toEqual({ mediaId: sha256(bytes), kind: 'voice', contentType: type.split(';')[0], size: bytes.length });
    }
    // A Matroska file is not WebM, and WebM bytes are not another voice type.
    const mkv = await upload(host, webm('matroska'), 'audio/webm;codecs=opus', alice.token);
    expect(mkv.status, mkv.text).toBe(415);
    expect(mkv.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const wrong = await upload(host, webm(), 'audio/ogg', alice.token);
    expect(wrong.status, wrong.text).toBe(415);
  });

  it('stores the same bytes once, for the same and for another uploader', async () => {
    const bytes = jpeg();
    const before = mediaFiles(host).length;
    const first = await upload(host, bytes, 'image/jpeg', alice.token);
    expect(first.status).toBe(200);
    expect(mediaFiles(host).length).toBe(before + 1);
    const again = await upload(host, bytes, 'image/jpeg', alice.token);
    const other = await upload(host, bytes, 'image/jpeg', bob.token);
    expect(again.body).toEqual(first.body);
    expect(other.body).toEqual(first.body);
    expect(mediaFiles(host).length).toBe(before + 1);
    await waitFor(() => tmpFiles(host).length === 0, 2_000); // removed just after the answer
  });
});

describe('uploadmedia: concurrent uploads of the same bytes', () => {
  it('all answer the same mediaId and one file holds the bytes', async () => {
    const bytes = mp4(3_000_000);
    const id = sha256(bytes);
    const results = await Promise.all([alice, bob, alice, bob, alice].map((u) => upload(host, bytes, 'video/mp4', u.token)));
    for (const r of results) {
      expect(r.status, r.text).toBe(200);
      expect(r.body.mediaId).toBe(id);
    }
    expect(mediaFiles(host).filter((f) => f.includes(id))).toEqual([`${id.slice(0, 2)}/${id}`]);
    expect(readFileSync(mediaPath(host, id)).equals(bytes)).toBe(true);
    await waitFor(() => tmpFiles(host).length === 0, 2_000);
  });
});

describe('uploadmedia: refusals', () => {
  it('415 when the bytes are not the declared type', async () => {
    const before = mediaFiles(host);
    const cases: Array<[Buffer, string]> = [
      [png(), 'image/jpeg'],
      [jpeg(), 'image/png'],
      [ogg(), 'audio/amr'],
      [png(), 'video/mp4'],
      [Buffer.alloc(0), 'image/png'],
    ];
    for (const [bytes, type] of cases) {
      const res = await upload(host, bytes, type, alice.token);
      expect(res.status, `${type}: ${res.text}`).toBe(415);
      expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(mediaFiles(host)).toEqual(before);
    await waitFor(() => tmpFiles(host).length === 0, 2_000); // removed just after the answer
  });

  it('415 for a Content-Type that is not accepted, or none', async () => {
    for (const type of ['text/plain', 'application/octet-stream', 'image/svg+xml', 'application/json']) {
      const res = await upload(host, png(), type, alice.token);
      expect(res.status, type).toBe(415);
      expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const res = await fetch(`${host.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}` },
      body: new Uint8Array(png()),
    });
    // fetch labels a bare byte body as nothing at all: no Content-Type.
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('401 without a token or with a bad one, storing nothing', async () => {
    const bytes = png();
    const before = mediaFiles(host).length;
    for (const token of [undefined, 'not-a-real-token-at-all-0123456789']) {
      const res = await upload(host, mp4(), 'video/mp4', token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
    expect(mediaFiles(host).length).toBe(before);
    expect((await upload(host, bytes, 'image/png')).status).toBe(401);
  });

  it('405 for a GET', async () => {
    const res = await host.get('/cgi-bin/uploadmedia', { token: alice.token });
    expect(res.status).toBe(405);
  });
});

describe('uploadmedia: size limits', () => {
  it('takes a voice clip of exactly 2 MiB', async () => {
    const bytes = ogg(2 * MiB);
    const res = await upload(host, bytes, 'audio/ogg', alice.token);
    expect(res.status, res.text).toBe(200);
    expect(res.body.size).toBe(2 * MiB);
  });

  it('413 for a voice clip one byte over 2 MiB', async () => {
    const res = await upload(host, ogg(2 * MiB + 1), 'audio/ogg', alice.token);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('413 from a declared Content-Length before any of a slow 50 MB body is needed', async () => {
    const media0 = mediaFiles(host);
    const big = Buffer.concat([ogg(), Buffer.alloc(50_000_000 - ogg().length)]);
    const r = await streamUpload({
      url: `${host.url}/cgi-bin/uploadmedia`,
      token: alice.token,
      contentType: 'audio/ogg',
      parts: [big],
      chunkBytes: 64 * 1024,
      delayMs: 2,
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(r.sentWhenAnswered!).toBeLessThan(4 * MiB);
    expect(mediaFiles(host)).toEqual(media0);
    await waitFor(() => tmpFiles(host).length === 0, 2_000);
  });

  it('413 while a slow chunked 50 MB body arrives, after about 2 MiB, and nothing is kept', async () => {
    const media0 = mediaFiles(host);
    const big = Buffer.concat([ogg(), Buffer.alloc(50_000_000 - ogg().length)]);
    let tmpSeen = false;
    const r = await streamUpload({
      url: `${host.url}/cgi-bin/uploadmedia`,
      token: alice.token,
      contentType: 'audio/ogg',
      parts: [big],
      chunkBytes: 64 * 1024,
      delayMs: 2,
      contentLength: false,
      onProgress: (sent) => {
        if (!tmpSeen && sent <= 2 * MiB) tmpSeen = tmpFiles(host).length > 0;
      },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    // The limit is known only once it is passed: answered soon after 2 MiB, long before 50 MB.
    expect(r.sentWhenAnswered!).toBeGreaterThan(2 * MiB);
    expect(r.sentWhenAnswered!).toBeLessThan(8 * MiB);
    expect(r.sent).toBeLessThan(r.total);
    expect(tmpSeen).toBe(true); // it really was being streamed to a temp file
    expect(mediaFiles(host)).toEqual(media0);
    await waitFor(() => tmpFiles(host).length === 0, 2_000);
    // The host still serves uploads afterwards.
    expect((await upload(host, png(), 'image/png', alice.token)).status).toBe(200);
  });

  it('413 for video over 50 MiB, declared', async () => {
    const r = await streamUpload({
      url: `${host.url}/cgi-bin/uploadmedia`,
      token: alice.token,
      contentType: 'video/mp4',
      parts: [mp4(16), Buffer.alloc(50 * MiB)],
      chunkBytes: 64 * 1024,
      delayMs: 2,
    });
    expect(r.status, JSON.stringify(r)).toBe(413);
    expect(r.sentWhenAnswered!).toBeLessThan(4 * MiB);
  });

  // RFC 9112 §9.6: a server that closes at once while the client is still
  // sending makes the client's TCP stack reset, and the reset can erase the
  // answer before the client reads it. Node's http client and fetch (undici)
  // then report EPIPE / ECONNRESET instead of the 413.
  it('a client still sending at full speed reads the 413, not a reset', async () => {
    const big = Buffer.concat([ogg(), Buffer.alloc(50_000_000 - ogg().length)]);
    const seen: string[] = [];
    const body = new Uint8Array(big);
    for (let i = 0; i < 3; i++) {
      const r = await streamUpload({
        url: `${host.url}/cgi-bin/uploadmedia`,
        token: alice.token,
        contentType: 'audio/ogg',
        parts: [big],
        chunkBytes: 256 * 1024,
      });
      seen.push(`http:${r.status ?? r.error}`);
      try {
        const res = await fetch(`${host.url}/cgi-bin/uploadmedia`, {
          method: 'POST',
          headers: { 'content-type': 'audio/ogg', authorization: `Bearer ${alice.token}` },
          body,
        });
        await res.arrayBuffer();
        seen.push(`fetch:${res.status}`);
      } catch (e) {
        seen.push(`fetch:${((e as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as Error).message}`);
      }
    }
    expect(
      seen.filter((s) => !s.endsWith(':413')),
      seen.join(' '),
    ).toEqual([]);
    await waitFor(() => tmpFiles(host).length === 0, 2_000);
  });
});

describe('uploadmedia: no half file', () => {
  it('an upload cut off after 1 MB of 5 MB leaves nothing; the full upload then works', async () => {
    const bytes = mp4(5_000_000);
    const id = sha256(bytes);
    const media0 = mediaFiles(host);
    const r = await streamUpload({
      url: `${host.url}/cgi-bin/uploadmedia`,
      token: alice.token,
      contentType: 'video/mp4',
      parts: [bytes],
      chunkBytes: 64 * 1024,
      delayMs: 1,
      abortAfter: 1_000_000,
    });
    expect(r.aborted).toBe(true);
    expect(r.status).toBeUndefined();
    await waitFor(() => tmpFiles(host).length === 0, 3_000);
    expect(mediaFiles(host)).toEqual(media0);
    expect(await getMediaStatus(id, alice.token)).toBe(404);
    const full = await upload(host, bytes, 'video/mp4', alice.token);
    expect(full.status, full.text).toBe(200);
    expect(full.body.mediaId).toBe(id);
    expect(readFileSync(mediaPath(host, id)).equals(bytes)).toBe(true);
    await waitFor(() => tmpFiles(host).length === 0, 2_000); // removed just after the answer
  });
});

async function getMediaStatus(id: string, token: string): Promise<number> {
  const res = await fetch(`${host.url}/cgi-bin/getmedia?mediaId=${id}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}
