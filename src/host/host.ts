/**
 * The host's life: open the store, load every CGI, watch the folder, serve
 * HTTP; on stop, stop accepting, finish what is in flight, persist, and end
 * every thread.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { Front } from '../http/server.js';
import { adminHandler, cgisRoute, type AdminRoute } from '../monitor/admin.js';
import { createLogger, type Logger } from '../monitor/log.js';
import { noObserver, type RequestObserver } from '../monitor/observer.js';
import { StoreHost } from '../store/host.js';
import { dbPath } from '../store/db.js';
import type { SlotEnv } from './slot.js';
import { Registry } from './registry.js';
import { runtimePaths } from './runtime-paths.js';
import { listServedCgiFiles } from './cgi-files.js';
import { watchCgis } from './watch.js';
import { Watchdog } from './watchdog.js';
import { SpareThreads } from '../worker/spare.js';

export { DIST_DIR } from './runtime-paths.js';

export interface HostHooks {
  /** Extra admin routes (metrics, dashboard, canary control). */
  adminRoutes?: AdminRoute[];
  observer?: RequestObserver;
  onWorkerExit?: SlotEnv['onWorkerExit'];
  onAlert?: SlotEnv['onAlert'];
  /** ctx.metrics and ctx.fetch counts from the workers. */
  onWorkerTally?: SlotEnv['onWorkerTally'];
  /** The host is stopping: end timers. */
  onStop?(): void;
}

export class Host {
  private stopWatching?: () => Promise<void>;
  private stopping?: Promise<void>;

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly store: StoreHost,
    readonly registry: Registry,
    readonly front: Front,
    private readonly watchdog: Watchdog,
    private readonly spares: SpareThreads,
    readonly address: { host: string; port: number },
    private readonly hooks: HostHooks,
  ) {}

  static async start(config: Config, opts: { log?: Logger; hooks?: (host: HostParts) => HostHooks } = {}): Promise<Host> {
    const log = opts.log ?? createLogger(config.log);
    mkdirSync(config.dataDir, { recursive: true });
    const tmpDir = join(config.dataDir, 'tmp');
    rmSync(tmpDir, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });

    const paths = runtimePaths();
    // Threads for the CGIs about to load boot while the store opens and the CGIs compile.
    const spares = new SpareThreads(paths.workerFile, config.cgiDefaults.maxHeapMb, config.faults.heartbeatMs);
    spares.prime(listServedCgiFiles(config.cgisDir, paths.builtinCgisDir).length * config.cgiDefaults.workers);
    const store = await StoreHost.start({
      threadFile: paths.storeThreadFile,
      dataDir: config.dataDir,
      synchronous: config.store.synchronous,
      groupsMaxMembers: config.groups.maxMembers,
      webhooks: config.webhooks,
      queue: config.queue,
      log,
    }).catch(async (e: unknown) => {
      await spares.stop();
      throw e;
    });
    let hooks: HostHooks = {};
    // Who holds a schedule's lease: hosts sharing one store (SPEC §9) tell each other apart by it.
    const holder = `${hostname()}:${process.pid}`;
    const env: SlotEnv = {
      config,
      log,
      workerFile: paths.workerFile,
      connectStore: (owner) => store.connect(owner),
      kvReadFile: dbPath(config.dataDir),
      takeSpare: (maxHeapMb) => spares.take(maxHeapMb),
      onWorkerExit: (cgi, version, reason) => hooks.onWorkerExit?.(cgi, version, reason),
      onAlert: (name, fields) => hooks.onAlert?.(name, fields),
      onWorkerTally: (group, unit, m) => hooks.onWorkerTally?.(group, unit, m),
      leaseSchedule: async (name, fireAt) => (await store.admin('leaseSchedule', { name, fireAt, holder })).granted,
      scheduleFinished: (name, fireAt, outcome) => {
        store
          .admin('scheduleFinished', { name, fireAt, ok: outcome.ok, error: outcome.ok ? undefined : outcome.error })
          .catch((e: Error) => log.warn('schedule outcome not recorded', { cgi: name, error: e.message }));
      },
      onWorkerLog: (cgi, version, m) => log.log(m.level, m.msg, { cgi, version, requestId: m.requestId, ...m.fields }),
    };
    const registry = new Registry(config.cgisDir, env, paths.builtinCgisDir);
    hooks = opts.hooks?.({ config, log, store, registry }) ?? {};
    await registry.loadAll();

    const front = new Front({
      config,
      registry,
      tokens: store.tokens,
      log,
      observer: hooks.observer ?? noObserver,
      tmpDir,
      admin: adminHandler(config.adminToken, [cgisRoute(registry), ...(hooks.adminRoutes ?? [])]),
    });
    const address = await front.listen(config.port, config.host);
    spares.trim();
    const watchdog = new Watchdog(registry, config, log);
    const host = new Host(config, log, store, registry, front, watchdog, spares, address, hooks);
    if (config.watch) host.stopWatching = await watchCgis(config.cgisDir, config.watchDebounceMs, registry, log);
    return host;
  }

  /** Graceful stop: no new connections, in-flight requests finish (held long-polls are answered), then everything closes. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.stopWatching?.();
      const drained = this.front.drain(this.config.limits.shutdownTimeoutMs);
      // Held long-polls would otherwise keep the drain waiting for their whole timeout.
      await this.store.releaseWaiters();
      await drained;
      this.watchdog.stop();
      this.hooks.onStop?.();
      await Promise.all([this.registry.stopAll(this.config.limits.shutdownTimeoutMs), this.spares.stop()]);
      await this.store.close();
    })();
    return this.stopping;
  }
}

export interface HostParts {
  config: Config;
  log: Logger;
  store: StoreHost;
  registry: Registry;
}
