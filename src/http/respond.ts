import type { ServerResponse } from 'node:http';
import { ERROR_STATUS, errorBody, type ErrorCode } from '../errors.js';

export function sendJson(res: ServerResponse, status: number, json: string, headers?: Record<string, string>): void {
  if (res.headersSent) return void res.end();
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(json));
  if (headers) for (const k in headers) res.setHeader(k, headers[k]!);
  res.end(json);
}

export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  requestId: string,
  opts: { details?: unknown; headers?: Record<string, string>; status?: number } = {},
): void {
  sendJson(res, opts.status ?? ERROR_STATUS[code], JSON.stringify(errorBody(code, message, requestId, opts.details)), opts.headers);
}
