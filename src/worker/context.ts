/**
 * The ctx of one request, job or run. The signal, store client, logger and
 * fetch are made only if the unit touches them; kv, queue, metrics and env
 * are the worker's own (runtime.ts).
 */
import type { CgiContext, CgiFetch, CgiLogger, ConsumerContext, JobInfo, RawBody, ScheduleContext, UnitContext } from '../sdk/context.js';
import type { StoreClient } from '../store/api.js';
import type { WorkerRequest } from './protocol.js';
import type { Runtime } from './runtime.js';

class BaseContext implements UnitContext {
  readonly cgi: string;
  readonly group: string;
  readonly version: string;
  private controller?: AbortController;
  private aborted = false;
  private storeClient?: StoreClient;
  private logger?: CgiLogger;
  private fetcher?: CgiFetch;
  /** Time this request spent held in a long-poll: the host counts it apart from service time. */
  heldMs = 0;

  constructor(
    protected readonly rt: Runtime,
    readonly requestId: string,
  ) {
    this.cgi = rt.spec.cgi;
    this.group = rt.spec.group;
    this.version = rt.spec.version;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.aborted) this.controller.abort();
    return this.controller.signal;
  }

  get store(): StoreClient {
    return (this.storeClient ??= this.rt.storeFor(this.requestId, (ms) => (this.heldMs += ms)));
  }

  /** The client's address for log lines: a request's; jobs and runs have none. */
  protected clientIp(): string | undefined {
    return undefined;
  }

  get log(): CgiLogger {
    return (this.logger ??= this.rt.logger(this.requestId, this.clientIp()));
  }

  get kv() {
    return this.rt.kv;
  }

  get queue() {
    return this.rt.queue;
  }

  get metrics() {
    return this.rt.metrics;
  }

  get env() {
    return this.rt.env;
  }

  get fetch(): CgiFetch {
    return (this.fetcher ??= this.rt.fetchFor(() => this.signal));
  }

  /** The request went away or timed out: fire ctx.signal, and end a held store call (a long-poll sync) at once. */
  abort(): void {
    this.aborted = true;
    this.controller?.abort();
    if (this.storeClient) this.rt.store.cancel(this.requestId);
  }
}

export class RequestContext extends BaseContext implements CgiContext {
  readonly uid: string | undefined;
  readonly sessionId: string | undefined;
  readonly ip: string;
  readonly headers: Record<string, string>;
  readonly body: RawBody | undefined;

  constructor(rt: Runtime, m: WorkerRequest) {
    super(rt, m.requestId);
    this.uid = m.uid;
    this.sessionId = m.sessionId;
    this.ip = m.ip;
    this.headers = m.headers;
    this.body = m.body;
  }

  protected override clientIp(): string {
    return this.ip;
  }
}

export class JobContext extends BaseContext implements ConsumerContext {
  constructor(
    rt: Runtime,
    readonly job: JobInfo,
  ) {
    super(rt, `job:${job.jobId}`);
  }
}

export class RunContext extends BaseContext implements ScheduleContext {
  constructor(
    rt: Runtime,
    readonly scheduledAt: number,
    readonly cron: string,
  ) {
    super(rt, `schedule:${rt.spec.cgi}:${scheduledAt}`);
  }
}
