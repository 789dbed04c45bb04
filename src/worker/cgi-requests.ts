/**
 * A CGI's requests inside its worker: input parsed and validated, the handler
 * run, the output validated, and the answer (or the error envelope) posted.
 * Anything the CGI throws inside a request is answered here.
 */
import { isRawResponse, type CgiDefinition } from '../index.js';
import { CgiError, ERROR_STATUS, errorBody, isErrorCode, type ErrorCode } from '../errors.js';
import { RequestContext } from './context.js';
import { describe } from './load-unit.js';
import type { HostToWorker, WorkerRequest } from './protocol.js';
import type { Runtime } from './runtime.js';

/** Past this many characters an answer crosses to the main thread as bytes it owns (a sync of 100 messages is ~20 KB). */
const TRANSFER_ABOVE = 8 * 1024;

export function serveRequests(rt: Runtime, def: CgiDefinition): (m: HostToWorker) => void {
  const inflight = new Map<number, RequestContext>();

  async function handle(m: WorkerRequest): Promise<void> {
    const ctx = new RequestContext(rt, m);
    inflight.set(m.id, ctx);
    try {
      const input = parseInput(def, m);
      const out = await def.handler(input as never, ctx as never);
      if (isRawResponse(out)) {
        rt.post({
          t: 'raw',
          id: m.id,
          status: out.status ?? 200,
          headers: out.headers ?? {},
          file: out.file,
          body: out.body,
          heldMs: held(m.id),
        });
        return;
      }
      const checked = def.output.safeParse(out);
      if (!checked.success) {
        rt.post({
          t: 'log',
          level: 'error',
          msg: 'output failed its schema (the CGI is at fault)',
          fields: { issues: checked.error.issues },
          requestId: m.requestId,
        });
        return answerError(m, 'INTERNAL', 'internal error');
      }
      answerJson(m.id, JSON.stringify(checked.data));
    } catch (e) {
      if (e instanceof CgiError && isErrorCode(e.code)) {
        answerError(m, e.code, e.message, e.details, e.status, e.headers);
      } else {
        rt.post({ t: 'log', level: 'error', msg: 'CGI threw', fields: { ip: m.ip, error: describe(e) }, requestId: m.requestId });
        answerError(m, 'INTERNAL', 'internal error');
      }
    } finally {
      inflight.delete(m.id);
    }
  }

  /** The request's time held in long-polls, when there was any (the answer carries it). */
  function held(id: number): number | undefined {
    return inflight.get(id)?.heldMs || undefined;
  }

  function answerJson(id: number, json: string): void {
    const heldMs = held(id);
    if (json.length <= TRANSFER_ABOVE) return rt.post({ t: 'res', id, status: 200, json, heldMs });
    // Large enough that Buffer.from gives it its own ArrayBuffer (never a slice of the shared pool).
    const bytes = Buffer.from(json);
    if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.byteLength) return rt.post({ t: 'res', id, status: 200, json, heldMs });
    rt.post({ t: 'res', id, status: 200, json: bytes, heldMs }, bytes.buffer as ArrayBuffer);
  }

  function answerError(
    m: WorkerRequest,
    code: ErrorCode,
    message: string,
    details?: unknown,
    status?: number,
    extraHeaders?: Record<string, string>,
  ): void {
    const s = status && status >= 400 && status <= 599 ? status : ERROR_STATUS[code];
    // SPEC §3: every 429 says when to come back.
    const own = extraHeaders && errorHeaders(extraHeaders);
    const headers = code === 'RATE_LIMITED' ? { ...own, 'retry-after': String(retryAfter(details)) } : own;
    rt.post({
      t: 'res',
      id: m.id,
      status: s,
      code,
      headers,
      json: JSON.stringify(errorBody(code, message, m.requestId, details)),
      heldMs: held(m.id),
    });
  }

  return (m) => {
    if (m.t === 'req') void handle(m);
    else if (m.t === 'abort') inflight.get(m.id)?.abort();
  };
}

function parseInput(def: CgiDefinition, m: WorkerRequest): unknown {
  let raw: unknown;
  if (m.json !== undefined) {
    try {
      raw = m.json.trim() === '' ? {} : JSON.parse(m.json);
    } catch {
      throw new CgiError('INVALID_JSON', 'the request body is not valid JSON');
    }
  } else {
    raw = m.query ?? {};
  }
  const parsed = def.input.safeParse(raw);
  if (!parsed.success) {
    throw new CgiError('INVALID_INPUT', 'the input does not match the schema', parsed.error.issues);
  }
  return parsed.data;
}

function retryAfter(details: unknown): number {
  const sec = (details as { retryAfterSec?: unknown } | undefined)?.retryAfterSec;
  return typeof sec === 'number' && sec > 0 ? Math.ceil(sec) : 1;
}

/** A CGI's headers for its error answer: strings only, and never the envelope's own content-type or length. */
function errorHeaders(given: Record<string, unknown>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(given)) {
    const name = k.toLowerCase();
    if (typeof v !== 'string' || name === 'content-type' || name === 'content-length' || name === 'transfer-encoding') continue;
    (out ??= {})[name] = v;
  }
  return out;
}
