/**
 * A crash mid-upload (kill -9 of the host) leaves no file under media/, and
 * the partial temp file is gone after the restart; the same upload then works.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mp4, sha256 } from './files.js';
import { getMedia, mediaFiles, startMediaHost, streamUpload, tmpFiles, upload, stopAndClean } from './support.js';
import { newUsers, type RunningHost, tempDir, waitFor } from '../helpers/index.js';

let host: RunningHost | undefined;
afterAll(async () => {
  await stopAndClean(host);
});

describe('uploadmedia across a crash', () => {
  it('kill -9 mid-upload: no half file, temp cleared on restart, the upload then succeeds', async () => {
    const dataDir = tempDir('cgihost-media-crash-');
    host = await startMediaHost({ dataDir });
    const [alice] = await newUsers(host, ['alice']);
    const bytes = mp4(5_000_000);
    const crashed = host;
    let killed: Promise<void> | undefined;
    const r = await streamUpload({
      url: `${crashed.url}/cgi-bin/uploadmedia`,
      token: alice!.token,
      contentType: 'video/mp4',
      parts: [bytes],
      chunkBytes: 64 * 1024,
      delayMs: 2,
      onProgress: (sent) => {
        if (sent >= 1_500_000 && !killed && tmpFiles(crashed).length > 0) killed = crashed.kill();
      },
    });
    await killed;
    expect(killed, 'the upload was streamed to a temp file before the kill').toBeDefined();
    expect(r.status).toBeUndefined();
    expect(mediaFiles(crashed)).toEqual([]);

    host = await startMediaHost({ dataDir });
    expect(tmpFiles(host)).toEqual([]);
    expect(mediaFiles(host)).toEqual([]);
    // The session outlived the crash: the same token uploads the whole file.
    const full = await upload(host, bytes, 'video/mp4', alice!.token);
    expect(full.status, full.text).toBe(200);
    expect(full.body.mediaId).toBe(sha256(bytes));
    const got = await getMedia(host, full.body.mediaId, alice!.token);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(bytes)).toBe(true);
    await waitFor(() => tmpFiles(host!).length === 0, 2_000);
  }, 90_000); // two host starts
});
