/**
 * Evaluates a compiled unit (plain CommonJS from the host's compiler, never
 * TypeScript) with `cgihost` and `zod` supplied by the host, and tells what it
 * is: a CGI, a consumer or a schedule, checked as far as a worker can. A
 * refusal is final until the file changes.
 */
import { createRequire, Module } from 'node:module';
import * as zod from 'zod';
import * as sdk from '../index.js';
import { HOST_API_VERSION, isDefinedCgi, SUPPORTED_API_VERSIONS, type CgiDefinition } from '../index.js';
import { RESERVED_TOPICS, TOPIC, MAX_TOPIC_LENGTH } from '../store/platform-api.js';
import {
  CONSUMER_DEFAULTS,
  CONSUMER_LIMITS,
  isDefinedConsumer,
  isDefinedSchedule,
  type ConsumerDefinition,
  type ScheduleDefinition,
} from '../sdk/units.js';
import type { LoadSpec, UnitMeta } from './protocol.js';

export type LoadedUnit =
  | { kind: 'cgi'; def: CgiDefinition; meta: UnitMeta }
  | { kind: 'consumer'; def: ConsumerDefinition; meta: UnitMeta }
  | { kind: 'schedule'; def: ScheduleDefinition; meta: UnitMeta };

export function loadUnit(spec: LoadSpec): LoadedUnit | { refused: string } {
  const localRequire = createRequire(spec.file);
  const requireForUnit = (id: string) => {
    if (id === 'cgihost') return sdk;
    if (id === 'zod' || id.startsWith('zod/')) return zod;
    return localRequire(id);
  };
  // A real CommonJS module, so node applies the unit's inline source map to its stack traces.
  const module = new Module(spec.file) as Module & { _compile(code: string, file: string): void };
  module.filename = spec.file;
  module.require = requireForUnit as NodeJS.Require;
  try {
    module._compile(spec.code, spec.file);
  } catch (e) {
    return { refused: `threw at load: ${describe(e)}` };
  }
  const def = (module.exports as Record<string, unknown>).default;
  const version = (def as { apiVersion?: unknown } | undefined)?.apiVersion;
  const known = isDefinedCgi(def) || isDefinedConsumer(def) || isDefinedSchedule(def);
  if (!known) return { refused: 'exports no valid defineCgi(), defineConsumer() or defineSchedule() as its default export' };
  if (typeof version !== 'number') {
    return { refused: `apiVersion must be a number (apiVersion: ${HOST_API_VERSION}), not ${JSON.stringify(version) ?? 'missing'}` };
  }
  if (!SUPPORTED_API_VERSIONS.includes(version)) {
    return {
      refused: `declares apiVersion ${JSON.stringify(version)}, but this host supports apiVersion ${SUPPORTED_API_VERSIONS.join(', ')}`,
    };
  }
  if (typeof (def as { handler?: unknown }).handler !== 'function') return { refused: 'has no handler function' };
  const timeoutOf = (own: unknown): number | string => {
    if (own !== undefined && !(Number.isInteger(own) && (own as number) >= 1 && (own as number) <= 3_600_000)) {
      return 'timeoutMs must be a whole number of milliseconds, 1 to 3600000';
    }
    return spec.timeoutMs ?? (own as number | undefined) ?? spec.defaultTimeoutMs;
  };
  if (isDefinedCgi(def)) {
    if (!(def.input instanceof zod.ZodType) || !(def.output instanceof zod.ZodType)) {
      return { refused: 'input and output must be zod schemas (z from "cgihost")' };
    }
    return {
      kind: 'cgi',
      def,
      meta: {
        kind: 'cgi',
        apiVersion: def.apiVersion,
        method: def.method === 'GET' ? 'GET' : 'POST',
        auth: def.auth === 'none' ? 'none' : 'user',
        timeoutMs: def.timeoutMs,
        maxBodyBytes: def.maxBodyBytes,
        rawTypes: def.body?.kind === 'raw' ? def.body.types : undefined,
      },
    };
  }
  if (isDefinedConsumer(def)) {
    const topic = def.topic as unknown;
    if (typeof topic !== 'string' || !TOPIC.test(topic) || topic.length > MAX_TOPIC_LENGTH) {
      return { refused: `topic ${JSON.stringify(topic)} must match [a-z][a-z0-9_.-]* (at most ${MAX_TOPIC_LENGTH} characters)` };
    }
    if (RESERVED_TOPICS.has(topic)) return { refused: `topic "${topic}" is the host's own` };
    if (!(def.input instanceof zod.ZodType)) return { refused: 'input must be a zod schema (z from "cgihost")' };
    const concurrency = def.concurrency ?? CONSUMER_DEFAULTS.concurrency;
    const maxAttempts = def.maxAttempts ?? CONSUMER_DEFAULTS.maxAttempts;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > CONSUMER_LIMITS.concurrency) {
      return { refused: `concurrency must be 1 to ${CONSUMER_LIMITS.concurrency}` };
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > CONSUMER_LIMITS.maxAttempts) {
      return { refused: `maxAttempts must be 1 to ${CONSUMER_LIMITS.maxAttempts}` };
    }
    const timeoutMs = timeoutOf(def.timeoutMs);
    if (typeof timeoutMs === 'string') return { refused: timeoutMs };
    return { kind: 'consumer', def, meta: { kind: 'consumer', apiVersion: def.apiVersion, topic, concurrency, maxAttempts, timeoutMs } };
  }
  const cron = def.cron as unknown;
  // The host parses it (croner); here only its shape: five fields.
  if (typeof cron !== 'string' || cron.trim().split(/\s+/).length !== 5) {
    return { refused: `cron ${JSON.stringify(cron)} must have 5 fields: minute hour day-of-month month day-of-week` };
  }
  const timeoutMs = timeoutOf(def.timeoutMs);
  if (typeof timeoutMs === 'string') return { refused: timeoutMs };
  return { kind: 'schedule', def, meta: { kind: 'schedule', apiVersion: def.apiVersion, cron: cron.trim(), timeoutMs } };
}

export function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
