/**
 * The media suites run the project's own cgis/ on a real host: uploads go over HTTP (fetch for small files, node:http
 * for streamed, slow or aborted ones), and the store is checked on disk.
 */
import { rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { filesUnder, PROJECT_CGIS, startHost, type ApiResponse, type RunningHost } from '../helpers/index.js';

export function startMediaHost(opts: { dataDir?: string } = {}): Promise<RunningHost> {
  return startHost({ cgisDir: PROJECT_CGIS, dataDir: opts.dataDir, config: { watch: false } });
}

/** Kills the host and removes its data dir: these suites leave 50 MB files behind otherwise. */
export async function stopAndClean(host: RunningHost | undefined): Promise<void> {
  if (!host) return;
  await host.kill();
  rmSync(host.dataDir, { recursive: true, force: true });
}

/** POST /cgi-bin/uploadmedia with the bytes as the body. */
export async function upload(host: RunningHost, bytes: Buffer, contentType: string, token?: string): Promise<ApiResponse> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${host.url}/cgi-bin/uploadmedia`, { method: 'POST', headers, body: new Uint8Array(bytes) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body, text };
}

export interface Download {
  status: number;
  headers: Headers;
  bytes: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** GET /cgi-bin/getmedia?mediaId=… (the id is put in the query as given, so tests can pass pre-encoded ids). */
export async function getMedia(
  host: RunningHost,
  rawQueryId: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Download> {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(`${host.url}/cgi-bin/getmedia?mediaId=${rawQueryId}`, { headers: h });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      /* not JSON */
    }
  }
  return { status: res.status, headers: res.headers, bytes, json };
}

export const mediaFiles = (host: RunningHost) => filesUnder(join(host.dataDir, 'media'));
export const tmpFiles = (host: RunningHost) => filesUnder(join(host.dataDir, 'tmp'));
export const mediaPath = (host: RunningHost, id: string) => join(host.dataDir, 'media', id.slice(0, 2), id);
export const sizeOf = (path: string) => statSync(path).size;

export interface StreamOptions {
  url: string;
  token?: string;
  contentType: string;
  /** The body, written in pieces of `chunkBytes`. */
  parts: Buffer[];
  chunkBytes?: number;
  /** Pause between pieces, to make the upload slow. */
  delayMs?: number;
  /** Send Content-Length (else chunked). Default true. */
  contentLength?: boolean;
  /** Destroy the request after this many bytes. */
  abortAfter?: number;
  /** Called after each piece with the bytes sent so far. */
  onProgress?: (sent: number) => void;
}

export interface StreamResult {
  status?: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body?: any;
  /** Bytes written when the response headers arrived. */
  sentWhenAnswered?: number;
  sent: number;
  total: number;
  aborted: boolean;
  error?: string;
}

/**
 * Streams an upload through node:http, piece by piece with backpressure, and
 * stops writing as soon as an answer arrives (a 413 comes before the end).
 */
export function streamUpload(o: StreamOptions): Promise<StreamResult> {
  const total = o.parts.reduce((n, p) => n + p.length, 0);
  const chunk = o.chunkBytes ?? 256 * 1024;
  const headers: Record<string, string | number> = { 'content-type': o.contentType };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.contentLength !== false) headers['content-length'] = total;
  const url = new URL(o.url);
  return new Promise((resolve) => {
    const result: StreamResult = { sent: 0, total, aborted: false };
    let answered = false;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      resolve(result);
    };
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers });
    req.on('response', (res) => {
      answered = true;
      result.status = res.statusCode;
      result.sentWhenAnswered = result.sent;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          result.body = JSON.parse(text);
        } catch {
          result.body = text;
        }
        req.destroy();
        done();
      });
      res.on('error', () => done());
    });
    req.on('error', (e) => {
      // After an answer, a reset while writing the unread rest is expected.
      if (!answered) result.error = (e as NodeJS.ErrnoException).code ?? e.message;
      if (!answered || result.body !== undefined) done();
    });
    req.on('close', () => {
      if (!answered) done();
    });
    const pieces = (function* () {
      for (const p of o.parts) for (let i = 0; i < p.length; i += chunk) yield p.subarray(i, Math.min(p.length, i + chunk));
    })();
    const pump = async () => {
      for (const piece of pieces) {
        if (answered || req.destroyed) return;
        if (o.abortAfter !== undefined && result.sent >= o.abortAfter) {
          result.aborted = true;
          req.destroy();
          return;
        }
        result.sent += piece.length;
        const ok = req.write(piece);
        o.onProgress?.(result.sent);
        if (!ok)
          await new Promise<void>((r) => {
            const go = () => {
              req.off('close', go);
              req.off('drain', go);
              r();
            };
            req.once('drain', go);
            req.once('close', go);
          });
        if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
      }
      if (!answered && !req.destroyed) req.end();
    };
    void pump();
  });
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
