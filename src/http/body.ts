/**
 * Request bodies, with their limits enforced while reading: a body over its
 * limit is answered 413 as soon as that is known (from Content-Length, or
 * while chunks arrive) and is never buffered whole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { CgiError } from '../errors.js';
import type { RawBody } from '../index.js';
import { isStorageFailure, storeUnavailable } from '../store/disk-full.js';

function tooLarge(limit: number): CgiError {
  return new CgiError('PAYLOAD_TOO_LARGE', `the request body is over the limit of ${limit} bytes`, { limit });
}

function declaredLength(req: IncomingMessage): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined) return undefined;
  const n = Number(h);
  return Number.isFinite(n) ? n : undefined;
}

export function readText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        return reject(tooLarge(limit));
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The bare media type of a Content-Type header: lowercased, parameters dropped. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Streams a raw body to a temp file, hashing it on the way. The accepted types
 * and their limits come from the CGI's definition.
 */
export async function receiveRaw(req: IncomingMessage, types: Record<string, number>, tmpDir: string): Promise<RawBody> {
  const contentType = mediaType(req.headers['content-type']);
  const limit = types[contentType];
  if (limit === undefined) {
    throw new CgiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type "${contentType || '(none)'}" is not accepted here`, {
      accepted: Object.keys(types),
    });
  }
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  const path = join(tmpDir, `upload-${randomBytes(12).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  // Not stream.pipeline: on an error it destroys the request, and with it the socket the 413 must go out on.
  await new Promise<void>((resolve, reject) => {
    // With the default 16 KiB buffer nearly every 64 KiB socket chunk would pause and resume the upload.
    const out = createWriteStream(path, { flags: 'wx', highWaterMark: 1024 * 1024 });
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      req.removeListener('data', onData);
      req.pause();
      out.destroy();
      rmSync(path, { force: true });
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit));
      hash.update(chunk);
      if (!out.write(chunk)) {
        req.pause();
        out.once('drain', () => req.resume());
      }
    };
    req.on('data', onData);
    // end's callback also runs when the last write or the close failed (a full disk), possibly before 'error' is emitted.
    const failedWrite = (e: Error) => fail(isStorageFailure(e) ? storeUnavailable(e) : e);
    req.on('end', () => out.end((e?: Error | null) => (e ? failedWrite(e) : failed ? undefined : resolve())));
    req.on('close', () => {
      if (!req.complete) fail(new CgiError('INVALID_INPUT', 'the upload was interrupted'));
    });
    // A full disk is the store's state, not a fault of the host: 503 STORE_UNAVAILABLE, the upload may be tried again.
    out.on('error', failedWrite);
  });
  return { contentType, size, sha256: hash.digest('hex'), path };
}
