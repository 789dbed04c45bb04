/**
 * Runs inside a CGI's worker thread: loads the compiled CGI (plain CommonJS
 * from the host's compiler, never TypeScript), reports its metadata, then
 * answers requests. Anything the CGI throws inside a request is answered here;
 * anything it throws outside one ends this thread, and the host replaces it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire, Module } from 'node:module';
import * as zod from 'zod';
import * as sdk from '../index.js';
import { HOST_API_VERSION, isDefinedCgi, isRawResponse, SUPPORTED_API_VERSIONS, type CgiDefinition, type CgiContext } from '../index.js';
import { CgiError, ERROR_STATUS, errorBody, isErrorCode, type ErrorCode } from '../errors.js';
import {
  BEAT,
  type CgiMeta,
  type HostToWorker,
  type LoadSpec,
  type WorkerData,
  type WorkerRequest,
  type WorkerToHost,
} from './protocol.js';
import { StoreRpc } from './store-client.js';
import { Outbox } from './outbox.js';
import type { StoreClient } from '../store/api.js';

const data = workerData as WorkerData;
// Only the CGI's small inline map is parsed: this bundle was loaded before the switch.
process.setSourceMapsEnabled(true);
const port = parentPort!;
const outbox = new Outbox<WorkerToHost>(port);
const post = (m: WorkerToHost) => outbox.push(m);
// A background throw or unhandled rejection ends this thread before the next
// flush: answers already made must still reach the host.
process.on('uncaughtExceptionMonitor', outbox.flush);
process.on('exit', outbox.flush);

const inflight = new Map<number, RequestContext>();
// Set once by begin(): this runs as a CommonJS script (see boot.ts), so no top-level await.
let spec: LoadSpec;
let store: StoreRpc;
let def: CgiDefinition;

startHeartbeat();
// A spare thread, started before it was needed, learns its CGI from the first message.
if (data.load) begin(data.load);
else port.once('message', (batch: HostToWorker[]) => begin((batch[0] as { spec: LoadSpec }).spec));

function begin(s: LoadSpec): void {
  spec = s;
  store = new StoreRpc(spec.storePort);
  const loaded = load();
  // A refused CGI leaves its thread idle; the host terminates it after reading the reason.
  if (!loaded) return;
  def = loaded;
  port.on('message', (batch: HostToWorker[]) => {
    for (const m of batch) {
      if (m.t === 'req') void handle(m);
      else if (m.t === 'abort') inflight.get(m.id)?.abort();
    }
  });
}

/** ctx of one request. The signal, store client and logger are made only if the CGI touches them. */
class RequestContext implements CgiContext {
  readonly uid: string | undefined;
  readonly sessionId: string | undefined;
  readonly requestId: string;
  readonly ip: string;
  readonly cgi = spec.cgi;
  readonly version = spec.version;
  readonly headers: Record<string, string>;
  readonly body: CgiContext['body'];
  private controller?: AbortController;
  private aborted = false;
  private storeClient?: StoreClient;
  private logger?: CgiContext['log'];
  /** Time this request spent held in a long-poll: the host counts it apart from service time. */
  heldMs = 0;

  constructor(m: WorkerRequest) {
    this.uid = m.uid;
    this.sessionId = m.sessionId;
    this.requestId = m.requestId;
    this.ip = m.ip;
    this.headers = m.headers;
    this.body = m.body;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.aborted) this.controller.abort();
    return this.controller.signal;
  }

  get store(): StoreClient {
    return (this.storeClient ??= store.clientFor(this.requestId, (ms) => (this.heldMs += ms)));
  }

  get log(): CgiContext['log'] {
    return (this.logger ??= logger(this.requestId, this.ip));
  }

  /** The request went away: fire ctx.signal, and end a held store call (a long-poll sync) at once. */
  abort(): void {
    this.aborted = true;
    this.controller?.abort();
    if (this.storeClient) store.cancel(this.requestId);
  }
}

function startHeartbeat(): void {
  const beat = new Float64Array(data.heartbeat);
  const tick = () => {
    const mem = process.memoryUsage();
    beat[BEAT.time] = Date.now();
    beat[BEAT.heapUsed] = mem.heapUsed;
    beat[BEAT.external] = mem.external;
  };
  tick();
  setInterval(tick, data.heartbeatMs).unref();
}

/** Evaluates the compiled CGI with `cgihost` and `zod` supplied by the host. */
function load(): CgiDefinition | undefined {
  const localRequire = createRequire(spec.file);
  const requireForCgi = (id: string) => {
    if (id === 'cgihost') return sdk;
    if (id === 'zod' || id.startsWith('zod/')) return zod;
    return localRequire(id);
  };
  // A real CommonJS module, so node applies the CGI's inline source map to its stack traces.
  const module = new Module(spec.file) as Module & { _compile(code: string, file: string): void };
  module.filename = spec.file;
  module.require = requireForCgi as NodeJS.Require;
  try {
    module._compile(spec.code, spec.file);
  } catch (e) {
    return refuse(`threw at load: ${describe(e)}`);
  }
  const def = (module.exports as Record<string, unknown>).default;
  if (!isDefinedCgi(def)) return refuse('exports no valid defineCgi() as its default export');
  if (typeof def.apiVersion !== 'number') {
    return refuse(`apiVersion must be a number (apiVersion: ${HOST_API_VERSION}), not ${JSON.stringify(def.apiVersion) ?? 'missing'}`);
  }
  if (!SUPPORTED_API_VERSIONS.includes(def.apiVersion)) {
    return refuse(
      `declares apiVersion ${JSON.stringify(def.apiVersion)}, but this host supports apiVersion ${SUPPORTED_API_VERSIONS.join(', ')}`,
    );
  }
  if (!(def.input instanceof zod.ZodType) || !(def.output instanceof zod.ZodType)) {
    return refuse('input and output must be zod schemas (z from "cgihost")');
  }
  if (typeof def.handler !== 'function') return refuse('has no handler function');
  const meta: CgiMeta = {
    apiVersion: def.apiVersion,
    method: def.method === 'GET' ? 'GET' : 'POST',
    auth: def.auth === 'none' ? 'none' : 'user',
    timeoutMs: def.timeoutMs,
    maxBodyBytes: def.maxBodyBytes,
    rawTypes: def.body?.kind === 'raw' ? def.body.types : undefined,
  };
  post({ t: 'ready', meta });
  return def;
}

function refuse(message: string): undefined {
  post({ t: 'load-error', message });
  return undefined;
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

async function handle(m: WorkerRequest): Promise<void> {
  const ctx = new RequestContext(m);
  inflight.set(m.id, ctx);
  try {
    const input = parseInput(m);
    const out = await def.handler(input as never, ctx as never);
    if (isRawResponse(out)) {
      post({
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
      post({
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
      post({ t: 'log', level: 'error', msg: 'CGI threw', fields: { ip: m.ip, error: describe(e) }, requestId: m.requestId });
      answerError(m, 'INTERNAL', 'internal error');
    }
  } finally {
    inflight.delete(m.id);
  }
}

/** Past this many characters an answer crosses to the main thread as bytes it owns (a sync of 100 messages is ~20 KB). */
const TRANSFER_ABOVE = 8 * 1024;

/** The request's time held in long-polls, when there was any (the answer carries it). */
function held(id: number): number | undefined {
  return inflight.get(id)?.heldMs || undefined;
}

function answerJson(id: number, json: string): void {
  const heldMs = held(id);
  if (json.length <= TRANSFER_ABOVE) return post({ t: 'res', id, status: 200, json, heldMs });
  // Large enough that Buffer.from gives it its own ArrayBuffer (never a slice of the shared pool).
  const bytes = Buffer.from(json);
  if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.byteLength) return post({ t: 'res', id, status: 200, json, heldMs });
  outbox.push({ t: 'res', id, status: 200, json: bytes, heldMs }, bytes.buffer as ArrayBuffer);
}

function parseInput(m: WorkerRequest): unknown {
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
  post({
    t: 'res',
    id: m.id,
    status: s,
    code,
    headers,
    json: JSON.stringify(errorBody(code, message, m.requestId, details)),
    heldMs: held(m.id),
  });
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

function retryAfter(details: unknown): number {
  const sec = (details as { retryAfterSec?: unknown } | undefined)?.retryAfterSec;
  return typeof sec === 'number' && sec > 0 ? Math.ceil(sec) : 1;
}

/** Every line a CGI logs names the client's address (behind trusted proxies, the one they report: SPEC §10). */
function logger(requestId: string, ip: string): CgiContext['log'] {
  const at = (level: 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) =>
    post({ t: 'log', level, msg, fields: { ip, ...fields }, requestId });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}
