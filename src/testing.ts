/**
 * `cgihost/testing`: run CGIs, consumers and schedules from a test without
 * starting a server. Each runs as it does in the host — compiled, in its own
 * worker, with a real store on a temp data dir, ctx.kv in its group's key
 * space and the real queue — only HTTP and the clock are left out.
 *
 *   const cgi = await loadCgi(new URL('./hello.ts', import.meta.url));
 *   const res = await cgi.call({ text: 'hi' }, { uid: 'u1' });
 *
 * Several units sharing one store (a CGI that sends jobs, the consumer that
 * handles them):
 *
 *   const t = await testPlatform();
 *   const post = await t.loadCgi(new URL('./post.ts', import.meta.url));
 *   await t.loadConsumer(new URL('./fill.ts', import.meta.url));
 *   await post.call({ text: 'hi' }, { uid: 'u1' });
 *   await t.queueIdle();                        // every job handled
 *   expect((await t.kv('moments').get(['post', 1]))?.value).toEqual(...);
 *   await t.close();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileCgi } from './host/compile.js';
import { DIST_DIR } from './host/runtime-paths.js';
import { parseCron } from './host/schedule-clock.js';
import { createLogger } from './log.js';
import type { Kv } from './sdk/kv.js';
import type { Queue } from './sdk/context.js';
import type { StoreClient } from './store/api.js';
import { StoreHost } from './store/host.js';
import { dbPath } from './store/db.js';
import type { QueueOptions } from './store/options.js';
import type { DeadLetter } from './store/platform.js';
import { CgiWorker, type RunOutcome, type TallyMessage } from './worker/cgi-worker.js';
import { createKv, createQueue } from './worker/kv-client.js';
import type { CgiMeta, ConsumerMeta, ScheduleMeta, UnitMeta } from './worker/protocol.js';
import { StoreRpc } from './worker/store-client.js';

export interface CallOptions {
  /** The authenticated user the call runs as (no token needed). */
  uid?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface CgiResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, string>;
}

export interface LoadedCgi {
  meta: CgiMeta;
  version: string;
  call(input: unknown, opts?: CallOptions): Promise<CgiResult>;
  close(): Promise<void>;
}

export interface LoadedConsumer {
  meta: ConsumerMeta;
  version: string;
  /**
   * Runs the handler once on `payload`, outside the queue, as attempt
   * `attempt` (default 1): `{ok: true}` or `{ok: false, error}` (a throw, a
   * timeout, a payload that fails the input).
   */
  deliver(payload: unknown, job?: { attempt?: number; key?: string }): Promise<RunOutcome>;
  close(): Promise<void>;
}

export interface LoadedSchedule {
  meta: ScheduleMeta;
  version: string;
  /** Runs the handler once, as if due at `scheduledAt` (default now). */
  run(scheduledAt?: number): Promise<RunOutcome>;
  /** The next `n` times the cron expression names, from now (server time zone). */
  nextRuns(n: number): Date[];
  close(): Promise<void>;
}

export interface UnitOptions {
  /** The unit's CGI group (default: the name of the folder its file is in). */
  group?: string;
}

export interface PlatformOptions {
  /** A data dir to use (kept after close); default: a fresh temp dir, removed on close. */
  dataDir?: string;
  /** ctx.env per group. */
  env?: Record<string, Record<string, string>>;
  /** cgiGroups.<group>.fetchAllow per group. */
  fetchAllow?: Record<string, string[]>;
  /** Retries and backoff of the queue (e.g. `{ backoffBaseMs: 10 }` for fast retries). */
  queue?: QueueOptions;
  /** Default timeout of CGIs, consumers and schedules (10 s). */
  timeoutMs?: number;
}

export interface TestPlatform {
  readonly dataDir: string;
  /** The host's store, as ctx.store sees it (create users, groups... for a test's setup). */
  readonly store: StoreClient;
  /** A group's ctx.kv, as its units see it. */
  kv(group: string): Kv;
  /** ctx.queue (jobs sent from the test itself). */
  readonly queue: Queue;
  loadCgi(file: string | URL, opts?: UnitOptions): Promise<LoadedCgi>;
  /** Loads a consumer; it takes its topic's jobs from the real queue at once. */
  loadConsumer(file: string | URL, opts?: UnitOptions): Promise<LoadedConsumer>;
  loadSchedule(file: string | URL, opts?: UnitOptions): Promise<LoadedSchedule>;
  /** Resolves once no consumer job is waiting or running (jobs in backoff count as waiting); throws after `timeoutMs`. */
  queueIdle(timeoutMs?: number): Promise<void>;
  deadLetters(topic?: string): Promise<DeadLetter[]>;
  /** The value of a ctx.metrics counter (summed increments) or gauge (last set) of a group, for one label set. */
  metric(group: string, name: string, labels?: Record<string, string>): number | undefined;
  close(): Promise<void>;
}

let seq = 0;

/** One store shared by any number of CGIs, consumers and schedules. */
export async function testPlatform(opts: PlatformOptions = {}): Promise<TestPlatform> {
  const ownDir = opts.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'cgihost-testing-'));
  const dataDir = opts.dataDir ?? ownDir!;
  const log = createLogger({ level: 'warn', format: 'pretty', write: (l) => process.stderr.write(l + '\n') });
  const store = await StoreHost.start({
    threadFile: join(DIST_DIR, 'store-thread.js'),
    dataDir,
    synchronous: 'NORMAL',
    groupsMaxMembers: 500,
    webhooks: [],
    queue: opts.queue,
    log,
  });
  const workers = new Set<CgiWorker>();
  const metrics = new Map<string, number>();
  const rpcs = new Map<string, StoreRpc>();
  const rpcFor = (group: string) => {
    let r = rpcs.get(group);
    if (!r) rpcs.set(group, (r = new StoreRpc(store.connect({ group, unit: 'test' }))));
    return r;
  };
  const tally = (group: string, m: TallyMessage) => {
    for (const u of m.metrics ?? []) {
      const k = metricKey(group, u.name, Object.fromEntries(u.labels));
      metrics.set(
        k,
        u.kind === 'gauge' ? u.value : (metrics.get(k) ?? 0) + (u.kind === 'histogram' ? u.counts!.reduce((a, b) => a + b, 0) : u.value),
      );
    }
  };

  async function start(file: string | URL, o: UnitOptions): Promise<{ worker: CgiWorker; meta: UnitMeta; version: string }> {
    const path = typeof file === 'string' ? file : fileURLToPath(file);
    const group = o.group ?? basename(dirname(path));
    const compiled = await compileCgi(path);
    const name = basename(path).replace(/\.[mc]?ts$/, '');
    const worker = new CgiWorker({
      workerFile: join(DIST_DIR, 'worker.cjs'),
      spec: {
        cgi: name,
        group,
        file: path,
        version: compiled.version,
        code: compiled.code,
        storePort: store.connect({ group, unit: name }),
        env: opts.env?.[group] ?? {},
        fetchAllow: opts.fetchAllow?.[group] ?? [],
        defaultTimeoutMs: opts.timeoutMs ?? 10_000,
        sqliteFile: dbPath(dataDir),
        recalls: store.recalls,
        commits: store.commits,
      },
      maxHeapMb: 256,
      heartbeatMs: 1_000,
      onLog: (m) => log.log(m.level, m.msg, { cgi: name, ...m.fields }),
      onTally: (m) => tally(group, m),
      onExit: () => workers.delete(worker),
    });
    workers.add(worker);
    const meta = await worker.ready;
    return { worker, meta, version: compiled.version };
  }

  const stop = async (w: CgiWorker) => {
    workers.delete(w);
    await w.terminate('retired');
  };

  return {
    dataDir,
    store: rpcFor('').clientFor('test'),
    kv: (group) => createKv(rpcFor(group)),
    queue: createQueue(rpcFor('')),

    async loadCgi(file, o = {}) {
      const { worker, meta, version } = await start(file, o);
      if (meta.kind !== 'cgi') {
        await stop(worker);
        throw new Error(`${String(file)} is a ${meta.kind}, not a CGI`);
      }
      return {
        meta,
        version,
        async call(input, c = {}) {
          const isGet = meta.method === 'GET';
          const reply = await worker.dispatch(
            {
              requestId: `test-${++seq}`,
              uid: c.uid,
              ip: '127.0.0.1',
              headers: c.headers ?? {},
              ...(isGet ? { query: input as Record<string, string> } : { json: JSON.stringify(input ?? {}) }),
            },
            c.timeoutMs ?? meta.timeoutMs ?? opts.timeoutMs ?? 10_000,
          );
          if (reply.t === 'res') {
            const text = typeof reply.json === 'string' ? reply.json : Buffer.from(reply.json).toString('utf8');
            return { status: reply.status, body: JSON.parse(text), headers: reply.headers ?? {} };
          }
          return { status: reply.status, body: reply.body, headers: reply.headers };
        },
        close: () => stop(worker),
      };
    },

    async loadConsumer(file, o = {}) {
      const { worker, meta, version } = await start(file, o);
      if (meta.kind !== 'consumer') {
        await stop(worker);
        throw new Error(`${String(file)} is a ${meta.kind}, not a consumer`);
      }
      worker.consume();
      return {
        meta,
        version,
        deliver(payload, job = {}) {
          const info = { jobId: `jtest${++seq}`, topic: meta.topic, key: job.key, attempt: job.attempt ?? 1, enqueuedAt: Date.now() };
          return worker.runJob(JSON.stringify(payload ?? null), info, meta.timeoutMs);
        },
        close: async () => {
          await worker.drainJobs(meta.timeoutMs + 1_000);
          await stop(worker);
        },
      };
    },

    async loadSchedule(file, o = {}) {
      const { worker, meta, version } = await start(file, o);
      if (meta.kind !== 'schedule') {
        await stop(worker);
        throw new Error(`${String(file)} is a ${meta.kind}, not a schedule`);
      }
      const cron = parseCron(meta.cron);
      return {
        meta,
        version,
        run: (scheduledAt = Date.now()) => worker.run(scheduledAt, meta.timeoutMs),
        nextRuns: (n) => cron.nextRuns(n),
        close: () => stop(worker),
      };
    },

    async queueIdle(timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await store.stats();
        const waiting = Object.entries(s.queueDepth).reduce((n, [topic, d]) => (topic === 'fanout' || topic === 'webhook' ? n : n + d), 0);
        const running = Object.values(s.queueTopics).reduce((n, t) => n + t.inflight, 0);
        if (waiting === 0 && running === 0) return;
        if (Date.now() > end) throw new Error(`the queue is not idle after ${timeoutMs} ms: ${waiting} jobs waiting, ${running} running`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },

    async deadLetters(topic) {
      return (await store.admin('deadLetters', { topic, limit: 1000 })).deadLetters;
    },

    metric: (group, name, labels = {}) => metrics.get(metricKey(group, name, labels)),

    async close() {
      await Promise.all([...workers].map((w) => w.terminate('retired')));
      for (const r of rpcs.values()) r.close();
      await store.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** One CGI with a store of its own (closing the CGI closes the store). */
export async function loadCgi(file: string | URL, opts: PlatformOptions & UnitOptions = {}): Promise<LoadedCgi> {
  const t = await testPlatform(opts);
  try {
    const cgi = await t.loadCgi(file, opts);
    return { ...cgi, close: () => t.close() };
  } catch (e) {
    await t.close();
    throw e;
  }
}

function metricKey(group: string, name: string, labels: Record<string, string>): string {
  const l = Object.entries(labels)
    .map(([k, v]) => [k, String(v)])
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  return `${group}\u0000${name}\u0000${JSON.stringify(l)}`;
}
