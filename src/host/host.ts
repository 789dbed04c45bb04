/**
 * The host's life: open the store, load every CGI, watch the folder, serve
 * HTTP; on stop, stop accepting, finish what is in flight, persist, and end
 * every thread.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { Front } from '../http/server.js';
import { adminHandler, cgisRoute, type AdminRoute } from '../monitor/admin.js';
import { createLogger, type Logger } from '../monitor/log.js';
import { noObserver, type RequestObserver } from '../monitor/observer.js';
import { StoreHost } from '../store/host.js';
import type { SlotEnv } from './cgi-slot.js';
import { Registry } from './registry.js';
import { runtimePaths } from './runtime-paths.js';
import { listServedCgiFiles } from './cgi-files.js';
import { watchCgis } from './watch.js';
import { Watchdog } from './watchdog.js';
import { TypeWatch } from './type-watch.js';
import { typeCheckUnavailable } from './typecheck.js';
import { writeEditorConfig } from './editor-config.js';
import { SpareThreads } from '../worker/spare.js';

export { DIST_DIR } from './runtime-paths.js';

export interface HostHooks {
  /** Extra admin routes (metrics, dashboard, canary control). */
  adminRoutes?: AdminRoute[];
  observer?: RequestObserver;
  onWorkerExit?: SlotEnv['onWorkerExit'];
  onAlert?: SlotEnv['onAlert'];
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
    private readonly types?: TypeWatch,
  ) {}

  static async start(config: Config, opts: { log?: Logger; hooks?: (host: HostParts) => HostHooks } = {}): Promise<Host> {
    const log = opts.log ?? createLogger(config.log);
    // The port first: a taken port fails in a moment, before the data dir (perhaps a running host's) is touched.
    // Requests that arrive before the CGIs are loaded wait for serve().
    const front = new Front(log);
    const address = await front.listen(config.port, config.host);
    const opened: Array<() => unknown> = [() => front.close()];
    try {
      return await Host.open(config, log, front, address, opened, opts.hooks);
    } catch (e) {
      // Whatever failed before serving must not leave threads, timers, the socket or the database open.
      for (const close of opened.reverse()) await close();
      throw e;
    }
  }

  /** Everything after the port: `opened` gets a closer for each thing opened, for start() to undo on failure. */
  private static async open(
    config: Config,
    log: Logger,
    front: Front,
    address: { host: string; port: number },
    opened: Array<() => unknown>,
    makeHooks?: (host: HostParts) => HostHooks,
  ): Promise<Host> {
    mkdirSync(config.dataDir, { recursive: true });
    const tmpDir = join(config.dataDir, 'tmp');
    rmSync(tmpDir, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });

    const paths = runtimePaths();
    // Threads for the CGIs about to load boot while the store opens and the CGIs compile.
    const spares = new SpareThreads(paths.workerFile, config.cgiDefaults.maxHeapMb, config.faults.heartbeatMs);
    opened.push(() => spares.stop());
    spares.prime(listServedCgiFiles(config.cgisDir, paths.builtinCgisDir).length * config.cgiDefaults.workers);
    const store = await StoreHost.start({
      threadFile: paths.storeThreadFile,
      dataDir: config.dataDir,
      synchronous: config.store.synchronous,
      groupsMaxMembers: config.groups.maxMembers,
      webhooks: config.webhooks,
      queue: config.queue,
      log,
    });
    opened.push(() => store.close());
    let hooks: HostHooks = {};
    const env: SlotEnv = {
      config,
      log,
      workerFile: paths.workerFile,
      connectStore: () => store.connect(),
      takeSpare: (maxHeapMb) => spares.take(maxHeapMb),
      onWorkerExit: (cgi, version, reason) => hooks.onWorkerExit?.(cgi, version, reason),
      onAlert: (name, fields) => hooks.onAlert?.(name, fields),
      onWorkerLog: (cgi, version, m) => log.log(m.level, m.msg, { cgi, version, requestId: m.requestId, ...m.fields }),
    };
    const types = typeWatch(config, log);
    if (types) {
      env.typeCheck = (files) => types.check(files);
      opened.push(() => types.stop());
    }
    const registry = new Registry(config.cgisDir, env, paths.builtinCgisDir);
    opened.push(() => registry.stopAll());
    hooks = makeHooks?.({ config, log, store, registry }) ?? {};
    opened.push(() => hooks.onStop?.());
    await registry.loadAll();

    front.serve({
      config,
      registry,
      tokens: store.tokens,
      log,
      observer: hooks.observer ?? noObserver,
      tmpDir,
      admin: adminHandler(config.adminToken, [cgisRoute(registry), ...(hooks.adminRoutes ?? [])]),
    });
    spares.trim();
    const watchdog = new Watchdog(registry, config, log);
    const host = new Host(config, log, store, registry, front, watchdog, spares, address, hooks, types);
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
      await Promise.all([this.registry.stopAll(), this.spares.stop(), this.types?.stop()]);
      await this.store.close();
    })();
    return this.stopping;
  }
}

/** Type checks for hot reload, when it is on and TypeScript is at hand; the editor config of a standalone cgis folder. */
function typeWatch(config: Config, log: Logger): TypeWatch | undefined {
  if (!config.watch || !config.typeCheck) return undefined;
  const unavailable = typeCheckUnavailable();
  if (unavailable) {
    log.info('hot reload does not check types', { reason: unavailable });
    return undefined;
  }
  try {
    const wrote = writeEditorConfig(config.cgisDir);
    if (wrote) log.info("wrote the cgis folder's tsconfig.json (editors show type errors as you type)", { file: wrote });
  } catch (e) {
    log.warn("could not write the cgis folder's tsconfig.json", { error: (e as Error).message });
  }
  return new TypeWatch(config.cgisDir);
}

export interface HostParts {
  config: Config;
  log: Logger;
  store: StoreHost;
  registry: Registry;
}
