import type { ServerResponse } from 'node:http';
import { ERROR_STATUS, errorBody, type ErrorCode } from '../errors.js';

/**
 * Writes a JSON answer with one writeHead: with no header set before, node
 * takes its fast path for a flat header array.
 */
export function sendJson(res: ServerResponse, status: number, json: string | Uint8Array, headers?: Record<string, string>): void {
  if (res.headersSent) return void res.end();
  const length = typeof json === 'string' ? Buffer.byteLength(json) : json.byteLength;
  const flat = ['content-type', 'application/json; charset=utf-8', 'content-length', String(length)];
  if (headers) for (const k in headers) flat.push(k, headers[k]!);
  res.writeHead(status, flat);
  res.end(json);
}

export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  requestId: string,
  opts: { details?: unknown; headers?: Record<string, string>; status?: number } = {},
): void {
  const headers = { ...opts.headers, 'x-request-id': requestId };
  sendJson(res, opts.status ?? ERROR_STATUS[code], JSON.stringify(errorBody(code, message, requestId, opts.details)), headers);
}
