/**
 * The composition root: wires config, store, the CGI host, the HTTP front and
 * the monitor into one server, and is the only module that knows them all.
 * Start: take the port, open the store, load every CGI, serve HTTP, watch the
 * folder. Stop: stop accepting, finish what is in flight, persist, and end
 * every thread.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { listServedCgiFiles } from './host/cgi-files.js';
import type { SlotEnv } from './host/slot.js';
import { writeEditorConfig } from './host/editor-config.js';
import { groupEnv } from './host/group-env.js';
import { precompile } from './host/compile.js';
import { Registry } from './host/registry.js';
import { runtimePaths } from './host/runtime-paths.js';
import { TypeWatch } from './host/type-watch.js';
import { typeCheckUnavailable } from './host/typecheck.js';
import { watchCgis } from './host/watch.js';
import { Watchdog } from './host/watchdog.js';
import { canaryRoutes } from './http/admin/canary-routes.js';
import { platformRoutes } from './http/admin/platform-routes.js';
import { monitorRoutes } from './http/admin/monitor-routes.js';
import { adminHandler, cgisRoute } from './http/admin/router.js';
import { usersRoutes } from './http/admin/users-routes.js';
import { backupRoutes } from './http/admin/backup-routes.js';
import { Front } from './http/server.js';
import { loadWebClient } from './http/web-client.js';
import { createLogger, type Logger } from './log.js';
import { Monitor } from './monitor/monitor.js';
import { StoreHost } from './store/host.js';
import { dbPath } from './store/db.js';
import { SpareThreads } from './worker/spare.js';

/** At start-up, how long the spare threads wait for a SQLite store to open before they boot beside it anyway. */
const PRIME_AFTER_MS = 1_000;

export class Server {
  private stopWatching?: () => Promise<void>;
  private stopping?: Promise<void>;

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly store: StoreHost,
    readonly registry: Registry,
    readonly monitor: Monitor,
    readonly front: Front,
    private readonly watchdog: Watchdog,
    private readonly spares: SpareThreads,
    readonly address: { host: string; port: number },
    private readonly types?: TypeWatch,
  ) {}

  static async start(config: Config, opts: { log?: Logger } = {}): Promise<Server> {
    const log = opts.log ?? createLogger(config.log);
    // The port first: a taken port fails in a moment, before the data dir (perhaps a running host's) is touched.
    // Requests that arrive before the CGIs are loaded wait for serve().
    const front = new Front(config, log);
    const address = await front.listen(config.port, config.host);
    const opened: Array<() => unknown> = [() => front.close()];
    try {
      return await Server.open(config, log, front, address, opened);
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
  ): Promise<Server> {
    mkdirSync(config.dataDir, { recursive: true });
    const tmpDir = join(config.dataDir, 'tmp');
    rmSync(tmpDir, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });

    const paths = runtimePaths();
    // Who holds a job's or a schedule's lease: hosts sharing one store (SPEC §9) tell each other apart by it.
    const holder = `${hostname()}:${process.pid}`;
    // The store thread first: every CGI's load waits for the store to be open (start-up timeline in
    // bench/README.md, "startup").
    const storeStarting = StoreHost.start({
      threadFile: paths.storeThreadFile,
      backupThreadFile: paths.backupThreadFile,
      dataDir: config.dataDir,
      mediaDir: config.mediaDir,
      engine: config.store.engine,
      url: config.store.url,
      hostId: holder,
      synchronous: config.store.synchronous,
      groupsMaxMembers: config.groups.maxMembers,
      messaging: {
        ...config.messaging,
        // Only for the sendmsg bench's A/B (bench/README.md): what keeping conversation rows costs.
        keepConversations: process.env.CGIHOST_BENCH_NO_CONVERSATIONS !== '1',
      },
      webhooks: config.webhooks,
      queue: config.queue,
      login: config.limits.login,
      sendPerMinute: config.limits.sendPerMinute,
      log,
    });
    // The CGIs compile while the store opens (in esbuild's process). The threads for the CGIs about to load
    // boot once a SQLite store is open (at most PRIME_AFTER_MS later): booted beside it, they took the CPU its
    // thread needed and delayed every load (~5% of the start with 20 CGIs). A PostgreSQL store's open waits on
    // the network, not the CPU: they boot beside it.
    const files = listServedCgiFiles(config.cgisDir, paths.builtinCgisDir);
    const compiling = precompile(files.map((f) => f.file));
    const spares = new SpareThreads(paths.workerFile, config.cgiDefaults.maxHeapMb, config.faults.heartbeatMs);
    opened.push(() => spares.stop());
    // False once the store could not open: the start fails just below, and no thread boots for it.
    const storeOpen = storeStarting.then(
      () => true,
      () => false,
    );
    const bootThreads =
      config.store.engine === 'sqlite'
        ? Promise.race([storeOpen, new Promise<boolean>((r) => setTimeout(r, PRIME_AFTER_MS, true).unref())])
        : true;
    if (await bootThreads) spares.prime(files.length * config.cgiDefaults.workers);
    const store = await storeStarting;
    opened.push(() => store.close());
    // The monitor needs the registry, and the registry reports to the monitor: it is set just below, before any CGI loads.
    let monitor: Monitor | undefined;
    const env: SlotEnv = {
      config,
      log,
      workerFile: paths.workerFile,
      connectStore: (owner) => store.connect(owner),
      // SQLite: workers read ctx.kv and sync from the file themselves; PostgreSQL: through the store thread.
      sqliteFile: config.store.engine === 'sqlite' ? dbPath(config.dataDir) : undefined,
      recalls: store.recalls,
      commits: store.commits,
      takeSpare: (maxHeapMb) => spares.take(maxHeapMb),
      onWorkerExit: (cgi, _version, reason) => monitor?.workerExited(cgi, reason),
      onAlert: (name, fields) => monitor?.alerts.raise(name, fields),
      onWorkerTally: (group, _unit, m) => monitor?.biz.apply(group, m),
      leaseSchedule: async (name, fireAt) => (await store.admin('leaseSchedule', { name, fireAt, holder })).granted,
      scheduleFinished: (name, fireAt, outcome) => {
        store
          .admin('scheduleFinished', { name, fireAt, ok: outcome.ok, error: outcome.ok ? undefined : outcome.error })
          .catch((e: Error) => log.warn('schedule outcome not recorded', { cgi: name, error: e.message }));
      },
      onWorkerLog: (cgi, version, m) => log.log(m.level, m.msg, { cgi, version, requestId: m.requestId, ...m.fields }),
    };
    const types = typeWatch(config, log);
    if (types) {
      env.typeCheck = (files) => types.check(files);
      opened.push(() => types.stop());
    }
    const registry = new Registry(config.cgisDir, env, paths.builtinCgisDir, compiling);
    opened.push(() => registry.stopAll());
    monitor = new Monitor({ config, log, store, registry });
    const m = monitor;
    opened.push(() => m.stop());
    await registry.loadAll();

    front.serve({
      config,
      registry,
      tokens: store.tokens,
      log,
      observer: monitor.observer,
      tmpDir,
      admin: adminHandler(config.adminToken, [
        cgisRoute(registry),
        ...canaryRoutes(registry),
        ...monitorRoutes(monitor),
        ...platformRoutes({ store, registry, monitor }),
        ...usersRoutes(store, groupEnv(config, 'account')),
        ...backupRoutes(store),
      ]),
      web: loadWebClient(paths.webDir),
    });
    spares.trim();
    const watchdog = new Watchdog(registry, config, log);
    const server = new Server(config, log, store, registry, monitor, front, watchdog, spares, address, types);
    if (config.watch) server.stopWatching = await watchCgis(config.cgisDir, config.watchDebounceMs, registry, log);
    return server;
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
      this.monitor.stop();
      // Consumers finish the jobs they hold and schedules their run, within the shutdown timeout.
      await Promise.all([this.registry.stopAll(this.config.limits.shutdownTimeoutMs), this.spares.stop(), this.types?.stop()]);
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
