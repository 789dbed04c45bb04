/**
 * `GET /` and `/assets/…`: the web chat client (SPEC §7), built by
 * scripts/build-web.mjs into dist/web/ with hashed asset names and their
 * gzip and brotli copies beside them. The host lists the files at start and
 * reads each into memory the first time it is asked for (the whole client
 * with its copies is about 1 MB, source maps included), so a request after
 * that costs no disk read, and starting costs one directory listing. The
 * client routes inside the page (`/#/chat/…`), so nothing else is claimed:
 * /cgi-bin/, /healthz, /metrics and /_host/ are never shadowed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { sendError } from './respond.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The page may talk to its own host only: no script, style, image, media or
 * connection from anywhere else (SPEC §7: nothing fetched from outside).
 * Media are shown from blob: URLs made from authenticated getmedia answers.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Variant {
  body: Buffer;
  encoding?: 'br' | 'gzip';
}

interface Asset {
  type: string;
  cacheControl: string;
  isPage: boolean;
  file: string;
  loaded?: { etag: string; variants: Variant[] };
}

export interface WebClient {
  /** Answers and returns true when the path is the client's; false leaves it to the other routes. */
  serve(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): boolean;
  /** Paths served (for logs and tests). */
  readonly paths: readonly string[];
}

/** Loads dist/web; null when it is missing (a host built without the client still serves its CGIs). */
export function loadWebClient(dir: string): WebClient | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  for (const file of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!file.isFile() || /\.(gz|br)$/.test(file.name)) continue;
    const abs = join(file.parentPath, file.name);
    const rel = relative(dir, abs).split(sep).join('/');
    const isPage = rel === 'index.html';
    assets.set(isPage ? '/' : `/${rel}`, {
      type: TYPES[extname(rel)] ?? 'application/octet-stream',
      // The page names the current hashed assets, so it is revalidated every time; an asset's name changes with its bytes.
      cacheControl: isPage ? 'no-cache' : 'public, max-age=31536000, immutable',
      isPage,
      file: abs,
    });
  }
  assets.set('/index.html', assets.get('/')!);

  return {
    paths: [...assets.keys()],
    serve(req, res, path, requestId) {
      const asset = assets.get(path);
      if (!asset) return false;
      let loaded: NonNullable<Asset['loaded']>;
      try {
        loaded = asset.loaded ??= load(asset.file);
      } catch {
        // Gone since the host started (a rebuild meanwhile): the other routes answer, as for any unknown path.
        assets.delete(path);
        return false;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 'METHOD_NOT_ALLOWED', `${path} is GET or HEAD`, requestId, { headers: { allow: 'GET, HEAD' } });
        return true;
      }
      const headers: Record<string, string> = {
        'content-type': asset.type,
        etag: loaded.etag,
        'cache-control': asset.cacheControl,
        vary: 'accept-encoding',
        'x-content-type-options': 'nosniff',
      };
      if (asset.isPage) {
        headers['content-security-policy'] = CSP;
        headers['referrer-policy'] = 'no-referrer';
      }
      if (matches(req.headers['if-none-match'], loaded.etag)) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      const v = pick(loaded.variants, req.headers['accept-encoding']);
      if (v.encoding) headers['content-encoding'] = v.encoding;
      headers['content-length'] = String(v.body.length);
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : v.body);
      return true;
    },
  };
}

/** A file and its .br and .gz copies (best first), with a strong ETag of its bytes. */
function load(file: string): NonNullable<Asset['loaded']> {
  const body = readFileSync(file);
  const variants: Variant[] = [];
  for (const [ext, encoding] of [
    ['.br', 'br'],
    ['.gz', 'gzip'],
  ] as const) {
    if (existsSync(file + ext)) variants.push({ body: readFileSync(file + ext), encoding });
  }
  variants.push({ body });
  return { etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, variants };
}

function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === etag || v === `W/${etag}`;
  });
}

/** The first variant the client accepts (a coding with q=0 is refused). */
function pick(variants: Variant[], acceptEncoding: string | string[] | undefined): Variant {
  const accepted = new Set<string>();
  for (const part of String(acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q && Number(q.slice(2)) === 0) continue;
    accepted.add(name);
  }
  return variants.find((v) => !v.encoding || accepted.has(v.encoding) || accepted.has('*')) ?? variants[variants.length - 1]!;
}
