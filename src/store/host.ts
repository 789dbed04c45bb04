/**
 * The main thread's handle on the store thread: starts it, hands out ports to
 * CGI workers, asks for stats, and stops it. If the thread dies, every control
 * call in flight is rejected (none is left hanging), later ones fail at once,
 * and each port it held closes, so the workers' calls can fail too.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { createLogger, type Logger } from '../log.js';
import { CgiError } from '../errors.js';
import type { StoreControl, StoreControlReply, StoreStats } from './protocol.js';
import type { PortOwner } from './platform-api.js';
import type { StoreOptions } from './options.js';
import type { StoreThreadOptions } from './thread.js';
import { revocationCounter, TokenReader } from './token-reader.js';
import { sharedCounter } from '../ports/shared-counter.js';
import type { TokenLookup } from './engine.js';
import { mediaDirOf } from './options.js';
import type { BackupProgress, BackupResult, ListUsersArgs, StoreAdmin, StoreAdminApi, StoreAdminOp } from './admin-api.js';
import { checkBackupTarget } from './backup.js';
import { runBackupThread } from './backup-runner.js';
import { copyMedia } from './media-copy.js';
import { dbPath } from './db.js';

export interface StoreHostOptions extends StoreOptions {
  /** The bundled thread entry (dist/store-thread.js). */
  threadFile: string;
  /** The bundled backup thread (dist/backup-thread.js); without it backup() is refused. */
  backupThreadFile?: string;
  /** Called when the thread stops without being asked to. */
  onExit?: (code: number) => void;
}

interface Pending {
  resolve(m: StoreControlReply): void;
  reject(e: Error): void;
}

type ControlCall = StoreControl extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/** A close that takes longer (the thread is stuck) ends with terminate(): SQLite recovers from that. */
const CLOSE_TIMEOUT_MS = 10_000;

export class StoreHost implements StoreAdmin {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private reader: TokenLookup | null = null;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;

  private dataDir = '';
  // Both made in start(), which hands them to the store thread before this object exists.
  /** Bumped by the store thread after each committed recall: CGI workers reading sync themselves drop their cached message rows. */
  recalls!: Int32Array;
  /** Bumped by the store thread after every commit, before answering its writes: CGI workers' read snapshots start again when it moves. */
  commits!: Int32Array;
  private mediaDir = '';
  private engine: 'sqlite' | 'postgres' = 'sqlite';
  private backupThreadFile?: string;

  private constructor(
    private readonly worker: Worker,
    private readonly log: Logger,
    private readonly onExit: ((code: number) => void) | undefined,
  ) {
    let ready!: { resolve(): void; reject(e: Error): void };
    this.ready = new Promise<void>((resolve, reject) => (ready = { resolve, reject }));
    worker.on('message', (m: StoreControlReply) => {
      if (m.t === 'ready') ready.resolve();
      else this.onReply(m);
    });
    worker.on('error', (err) => {
      this.log.log('error', 'store thread error', { error: err.stack ?? String(err) });
      ready.reject(new Error(`the store thread failed to start: ${err.message}`, { cause: err }));
    });
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        ready.reject(new Error(`the store thread exited with code ${code} before it was ready`));
        this.onThreadExit(code);
        resolve();
      }),
    );
  }

  /** Starts the store thread and resolves once its database is open. */
  static async start(opts: StoreHostOptions): Promise<StoreHost> {
    const { threadFile, backupThreadFile, log = createLogger({ level: 'info', format: 'json' }), onExit, ...rest } = opts;
    const revocations = revocationCounter();
    const recalls = sharedCounter();
    const commits = sharedCounter();
    const workerData: StoreThreadOptions = {
      revocations,
      recalls,
      commits,
      dataDir: rest.dataDir,
      mediaDir: mediaDirOf(rest),
      engine: rest.engine ?? 'sqlite',
      url: rest.url,
      hostId: rest.hostId,
      synchronous: rest.synchronous,
      groupsMaxMembers: rest.groupsMaxMembers,
      messaging: rest.messaging,
      webhooks: rest.webhooks,
      queue: rest.queue,
      login: rest.login,
      sendPerMinute: rest.sendPerMinute,
    };
    // A large young generation: the store thread allocates per message and batch, and scavenges less often.
    const thread = new Worker(threadFile, { workerData, name: 'cgihost-store', resourceLimits: { maxYoungGenerationSizeMb: 64 } });
    const host = new StoreHost(thread, log, onExit);
    host.dataDir = rest.dataDir;
    host.recalls = recalls;
    host.commits = commits;
    host.mediaDir = mediaDirOf(rest);
    host.engine = rest.engine ?? 'sqlite';
    host.backupThreadFile = backupThreadFile;
    try {
      await host.ready;
      // The pg driver is loaded only by a host on PostgreSQL (on SQLite it would cost start-up ~60 ms of CPU and ~14 MB).
      host.reader =
        host.engine === 'postgres'
          ? new (await import('./pg/token-lookup.js')).PgTokenLookup(rest.url!, revocations)
          : new TokenReader(rest.dataDir, revocations);
    } catch (err) {
      await host.close();
      throw err;
    }
    return host;
  }

  /** Resolves bearer tokens in the main thread (SQLite: its own read-only connection; PostgreSQL: a cache and a small pool). */
  get tokens(): TokenLookup {
    if (!this.reader) throw new Error('the store is not open');
    return this.reader;
  }

  /**
   * A port straight to the store thread, for one worker (transfer it there).
   * `owner` binds the port to a CGI group's kv space and names the unit.
   */
  connect(owner?: PortOwner): MessagePort {
    const { port1, port2 } = new MessageChannel();
    if (this.dead || this.closing) {
      // The other end closes at once, so the worker's calls fail instead of waiting.
      port1.close();
      return port2;
    }
    this.worker.postMessage({ t: 'attach', port: port1, owner } satisfies StoreControl, [port1]);
    return port2;
  }

  /** The admin API's questions about topics, dead letters, schedules and users. A store refusal keeps its code (a CgiError). */
  async admin<K extends StoreAdminOp>(op: K, args: Parameters<StoreAdminApi[K]>[0]): Promise<Awaited<ReturnType<StoreAdminApi[K]>>> {
    const r = await this.call({ t: 'admin', op, args });
    if (r.t !== 'admin') throw new Error('unexpected store reply');
    if (!r.ok) throw new CgiError(r.error.code, r.error.message, r.error.details);
    return r.value as Awaited<ReturnType<StoreAdminApi[K]>>;
  }

  async stats(): Promise<StoreStats> {
    const r = await this.call({ t: 'stats' });
    if (r.t !== 'stats') throw new Error('unexpected store reply');
    return r.stats;
  }

  /** Delivers an event (an alert, for one) to the webhooks configured for it, through the durable queue. */
  async emit(event: string, payload: unknown): Promise<void> {
    await this.call({ t: 'emit', event, payload });
  }

  // administration (StoreAdmin): errors come back as CgiErrors with the store's code

  listUsers(a: ListUsersArgs) {
    return this.admin('listUsers', a);
  }
  getUser(a: { username: string }) {
    return this.admin('getUser', a);
  }
  setUserDisabled(a: { username: string; disabled: boolean }) {
    return this.admin('setUserDisabled', a);
  }
  resetPassword(a: { username: string; passwordHash: string }) {
    return this.admin('resetPassword', a);
  }

  /**
   * SQLite only (see backup.ts): a consistent copy of the database into
   * `file` (absolute), made in a thread of its own while the host serves;
   * then, with `mediaDir`, the media files that folder lacks.
   */
  async backup(
    a: { file: string; mediaDir?: string; busyShare?: number },
    onProgress?: (p: BackupProgress) => void,
  ): Promise<BackupResult> {
    if (this.engine === 'postgres') {
      throw new CgiError(
        'INVALID_INPUT',
        "this host's store is PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, or pg_basebackup and WAL archiving) and copy the media folder",
      );
    }
    const dbFile = dbPath(this.dataDir);
    const file = checkBackupTarget(dbFile, a.file);
    if (a.mediaDir !== undefined && (typeof a.mediaDir !== 'string' || !a.mediaDir.startsWith('/'))) {
      throw new CgiError('INVALID_INPUT', 'the media folder must be an absolute path');
    }
    const data = { dbFile, file, busyShare: a.busyShare };
    // Never on this thread: the copy sleeps between its steps.
    if (!this.backupThreadFile) throw new CgiError('INTERNAL', 'this store was started without a backup thread');
    const db = await runBackupThread(this.backupThreadFile, data, onProgress);
    this.log.info('backup written', { file, bytes: db.bytes, ms: db.ms });
    if (a.mediaDir === undefined) return db;
    return { ...db, media: await copyMedia(this.mediaDir, a.mediaDir) };
  }

  /** Answers every held long-poll now (empty) and holds no new ones: call it when starting to stop. */
  async releaseWaiters(): Promise<number> {
    const r = await this.call({ t: 'releaseWaiters' });
    return r.t === 'waitersReleased' ? r.released : 0;
  }

  /** Commits what is queued, closes the database and ends the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.dead) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            this.call({ t: 'close' }, true),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${CLOSE_TIMEOUT_MS} ms`)), CLOSE_TIMEOUT_MS);
            }),
          ]);
        } catch (err) {
          this.log.log('error', 'the store did not close cleanly', { error: String(err) });
        } finally {
          clearTimeout(timer);
        }
      }
      this.reader?.close();
      await this.worker.terminate();
      await this.exited;
    })();
    return this.closing;
  }

  private call(m: ControlCall, whileClosing = false): Promise<StoreControlReply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closing && !whileClosing) return Promise.reject(new Error('the store is closing'));
    const id = this.nextId++;
    return new Promise<StoreControlReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id } as StoreControl);
    });
  }

  private onReply(m: Exclude<StoreControlReply, { t: 'ready' }>): void {
    if (m.t === 'log') {
      this.log.log(m.level, m.msg, { src: 'store', ...m.fields });
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.t === 'failed') p.reject(new Error(m.message));
    else p.resolve(m);
  }

  private onThreadExit(code: number): void {
    const expected = this.closing !== null;
    this.dead = new Error(`the store thread exited (code ${code})`);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
    if (!expected) {
      this.log.log('error', 'the store thread exited unexpectedly', { code });
      this.onExit?.(code);
    }
  }
}
