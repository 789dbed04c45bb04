/**
 * A stored media file as a raw answer: its Content-Type, an ETag (the bytes
 * never change: their id is their hash), 304 for a matching If-None-Match,
 * and single-range support (206, or 416 past the end), per RFC 9110.
 * getmedia and Moments' getmomentmedia answer with it.
 */
import { CgiError, rawResponse, type CgiContext, type MediaRecord, type RawResponse } from 'cgihost';

export function mediaResponse(media: MediaRecord & { path: string }, ctx: CgiContext): RawResponse {
  const etag = `"${media.mediaId}"`;
  const headers: Record<string, string> = {
    'content-type': media.contentType,
    etag,
    'accept-ranges': 'bytes',
    // Content-addressed: these bytes never change.
    'cache-control': 'private, max-age=31536000, immutable',
  };
  if (matchesEtag(ctx.headers['if-none-match'], etag)) return rawResponse({ status: 304, headers });
  const range = ctx.headers.range;
  const ifRange = ctx.headers['if-range'];
  if (range && (!ifRange || ifRange === etag)) {
    const r = parseRange(range, media.size);
    if (r === 'unsatisfiable') {
      throw new CgiError('RANGE_NOT_SATISFIABLE', `the range is outside the ${media.size} bytes`, undefined, {
        headers: { 'content-range': `bytes */${media.size}` },
      });
    }
    if (r) {
      headers['content-range'] = `bytes ${r.start}-${r.end}/${media.size}`;
      headers['content-length'] = String(r.end - r.start + 1);
      return rawResponse({ status: 206, headers, file: { path: media.path, start: r.start, end: r.end } });
    }
  }
  headers['content-length'] = String(media.size);
  if (media.size === 0) return rawResponse({ status: 200, headers, body: '' });
  return rawResponse({ status: 200, headers, file: { path: media.path } });
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === etag || v === `W/${etag}`;
  });
}

/** One `bytes=` range; a malformed or multi-range header is ignored (the whole file is sent), per RFC 9110. */
function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size || size === 0) return 'unsatisfiable';
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) throw new CgiError(400, 'INVALID_INPUT', 'bad range');
  return { start, end };
}
