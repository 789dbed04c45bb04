/**
 * The SDK that CGI authors import as `cgihost`. Inside a worker the host hands
 * this very module to the CGI, so `instanceof CgiError` holds across the
 * boundary.
 */
import { z } from 'zod';
import type { ErrorCode } from './errors.js';
import type { CgiContext, RawBody } from './sdk/context.js';

export { z };
export type { ErrorCode } from './errors.js';
export type * from './store/api.js';
export type * from './sdk/context.js';
export type * from './sdk/kv.js';
export type { Counter, Gauge, Histogram, MetricLabels, Metrics } from './sdk/metrics.js';
export { HISTOGRAM_BUCKETS } from './sdk/metrics.js';
export { defineConsumer, defineSchedule, isDefinedConsumer, isDefinedSchedule } from './sdk/units.js';
export type { ConsumerDefinition, ScheduleDefinition } from './sdk/units.js';

/** The host API versions this host can load. A CGI declaring another is refused at load. */
export const SUPPORTED_API_VERSIONS: readonly number[] = [1];
export const HOST_API_VERSION = 1;

export class CgiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CgiError';
  }
}

/** Raw-bytes answer (media download): the host streams the file range or body with these headers. */
export interface RawResponseInit {
  status?: number;
  headers?: Record<string, string>;
  /** Stream this file from disk, optionally a byte range [start, end] inclusive. */
  file?: { path: string; start?: number; end?: number };
  body?: string | Uint8Array;
}

const RAW = Symbol.for('cgihost.rawResponse');
export interface RawResponse extends RawResponseInit {
  readonly [RAW]: true;
}
export function rawResponse(init: RawResponseInit): RawResponse {
  return { ...init, [RAW]: true } as RawResponse;
}
export function isRawResponse(v: unknown): v is RawResponse {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[RAW] === true;
}

interface CgiCommon {
  /** The host API version this CGI was written against. */
  apiVersion: number;
  /** 'POST' (JSON body, the default) or 'GET' (query string). */
  method?: 'POST' | 'GET';
  /** 'user' (default): a Bearer token is required; 'none': public. */
  auth?: 'user' | 'none';
  timeoutMs?: number;
  /** JSON body limit in bytes (host default 64 KiB). */
  maxBodyBytes?: number;
}

export interface JsonCgiDefinition<I extends z.ZodType, O extends z.ZodType> extends CgiCommon {
  input: I;
  output: O;
  body?: undefined;
  handler(input: z.output<I>, ctx: CgiContext): Promise<z.input<O> | RawResponse> | z.input<O> | RawResponse;
}

/**
 * A CGI that takes the raw request body (an upload): `body.types` maps each
 * accepted Content-Type to its size limit in bytes. The host answers 415 for
 * any other type and 413 past the limit, without reading the rest. `input`
 * validates the query string.
 */
export interface RawBodyCgiDefinition<I extends z.ZodType, O extends z.ZodType> extends CgiCommon {
  body: { kind: 'raw'; types: Record<string, number> };
  input: I;
  output: O;
  handler(input: z.output<I>, ctx: CgiContext & { body: RawBody }): Promise<z.input<O> | RawResponse> | z.input<O> | RawResponse;
}

export type CgiDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> =
  JsonCgiDefinition<I, O> | RawBodyCgiDefinition<I, O>;

const DEFINED = Symbol.for('cgihost.cgi');

export function defineCgi<I extends z.ZodType, O extends z.ZodType>(def: JsonCgiDefinition<I, O>): JsonCgiDefinition<I, O>;
export function defineCgi<I extends z.ZodType, O extends z.ZodType>(def: RawBodyCgiDefinition<I, O>): RawBodyCgiDefinition<I, O>;
export function defineCgi(def: CgiDefinition): CgiDefinition {
  Object.defineProperty(def, DEFINED, { value: true });
  return def;
}

export function isDefinedCgi(v: unknown): v is CgiDefinition {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[DEFINED] === true;
}
