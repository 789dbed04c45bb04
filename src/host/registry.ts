/**
 * Every CGI by name. Loads the folder at start, and applies each added,
 * changed or deleted file: a change is compiled and loaded beside the running
 * version and only swapped in once it works; a broken one is refused and the
 * previous version keeps serving. Work on one CGI name is serialised.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { CgiError } from '../errors.js';
import { classify, listCgiFiles, listServedCgiFiles, type CgiFile } from './cgi-files.js';
import { Slot, type LoadError, type SlotEnv } from './slot.js';
import { compileCgi, compileFailure, shortPath, type CompiledCgi } from './compile.js';
import { parseCron } from './schedule-clock.js';
import { formatIssue, type TypeIssue } from './typecheck.js';
import type { UnitMeta } from '../worker/protocol.js';

export class Registry {
  readonly slots = new Map<string, Slot>();
  /** Set once the start-up load is done: later loads are hot reloads. */
  private reloading = false;
  /** Files refused outright (name clash, canary with no stable version), by path. */
  readonly fileErrors = new Map<string, LoadError>();
  private readonly chains = new Map<string, Promise<void>>();
  /** CGI files whose last load failed or was refused: retried when any helper file changes (it may be the fix). */
  private readonly failing = new Map<string, CgiFile>();
  private readonly retries = new Map<string, number>();

  /**
   * builtinDir: CGIs served unless a file of the cgis folder takes their name (the single binary's);
   * early: compiles started before the store was open (compile.ts precompile), each taken by the file's first load.
   */
  constructor(
    private readonly cgisDir: string,
    private readonly env: SlotEnv,
    private readonly builtinDir?: string,
    private readonly early = new Map<string, Promise<CompiledCgi>>(),
  ) {}

  async loadAll(): Promise<void> {
    const files = listServedCgiFiles(this.cgisDir, this.builtinDir);
    await Promise.all(files.filter((f) => !f.canary).map((f) => this.serial(f.name, () => this.load(f))));
    await Promise.all(files.filter((f) => f.canary).map((f) => this.serial(f.name, () => this.load(f))));
    // From now on every swap is a hot reload: its types are checked (start-up leaves that to `cgihost check`).
    this.reloading = true;
    this.early.clear();
  }

  get(name: string): Slot | undefined {
    return this.slots.get(name);
  }

  /** A file was added or changed: load it, or, for a helper, reload every CGI that bundles it. */
  async changed(file: string): Promise<void> {
    const f = classify(this.cgisDir, file);
    if (f) return this.serial(f.name, () => this.load(f));
    const retry = new Map<string, CgiFile>(this.importersOf(file).map((g) => [g.file, g]));
    for (const g of this.failing.values()) retry.set(g.file, g);
    await Promise.all([...retry.values()].map((g) => this.serial(g.name, () => this.load(g))));
  }

  async removed(file: string): Promise<void> {
    const f = classify(this.cgisDir, file);
    if (!f) return this.changed(file);
    return this.serial(f.name, async () => {
      this.fileErrors.delete(file);
      this.failing.delete(file);
      const slot = this.slots.get(f.name);
      if (!slot) return;
      if (f.canary) {
        if (slot.canary?.file === file) slot.dropCanary();
      } else if (slot.file === file) {
        // A local file that overrode a built-in CGI is gone: the built-in one serves again.
        const builtin = this.builtinDir ? listCgiFiles(this.builtinDir).find((b) => b.name === f.name && !b.canary) : undefined;
        if (builtin) return this.load(builtin);
        slot.remove();
        this.slots.delete(f.name);
        this.env.log.info('CGI removed', { cgi: f.name, file: shortPath(file) });
      }
    });
  }

  /**
   * The canary becomes the stable version: its file replaces the stable file
   * and is removed. The new stable version is live before the canary stops.
   */
  async promote(name: string): Promise<void> {
    const slot = this.slots.get(name);
    const canary = slot?.canary;
    if (!slot || !canary) throw new CgiError('CGI_UNAVAILABLE', `${name} has no loaded canary to promote`);
    // A built-in stable file is never written: the promoted version becomes a local override.
    const stableFile = this.isBuiltin(slot.file) ? join(dirname(canary.file), basename(slot.file)) : slot.file;
    writeFileSync(stableFile, readFileSync(canary.file));
    rmSync(canary.file, { force: true });
    await this.changed(stableFile);
    await this.removed(canary.file);
    slot.setCanaryPercent(0);
    this.env.log.info('canary promoted', { cgi: name, version: slot.stable?.version });
  }

  /** Waits for every pending load (tests and `check` use this). */
  async settled(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  /**
   * Ends every worker, and resolves once all have exited. Consumers first
   * stop taking jobs and finish the ones they hold, and schedules finish a
   * run in progress (each within `graceMs`), so that a stop fails no job.
   */
  async stopAll(graceMs = 0): Promise<void> {
    const slots = [...this.slots.values()];
    if (graceMs > 0) {
      const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, graceMs).unref())]);
      await Promise.all(
        slots.flatMap((s) => [
          ...(s.kind === 'consumer' ? s.workers().map((w) => bounded(w.drainJobs(graceMs))) : []),
          ...(s.clock ? [bounded(s.clock.stop())] : []),
        ]),
      );
    }
    const workers = slots.flatMap((s) => s.workers());
    for (const s of slots) s.remove();
    await Promise.all(workers.map((w) => w.terminate('retired')));
  }

  private importersOf(file: string): CgiFile[] {
    const out: CgiFile[] = [];
    for (const slot of this.slots.values()) {
      for (const d of [slot.stable, slot.canary]) {
        if (d?.compiled.inputs.includes(file)) out.push({ file: d.file, group: slot.group, name: slot.name, canary: d.kind === 'canary' });
      }
    }
    return out;
  }

  private serial(name: string, task: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(name) ?? Promise.resolve()).then(task).catch((e: Error) => {
      this.env.log.error('CGI load failed unexpectedly', { cgi: name, error: e.stack ?? e.message });
    });
    this.chains.set(name, next);
    return next;
  }

  private refuseFile(f: CgiFile, message: string): void {
    this.failing.set(f.file, f);
    this.fileErrors.set(f.file, { message, file: f.file, at: Date.now() });
    this.env.log.error('CGI refused', { cgi: f.name, file: shortPath(f.file), error: message });
  }

  private async load(f: CgiFile): Promise<void> {
    let slot = this.slots.get(f.name);
    if (f.canary) {
      if (!slot || !slot.stable) return this.refuseFile(f, `canary ${shortPath(f.file)} has no loaded stable ${f.name}.ts beside it`);
      if (slot.group !== f.group) return this.refuseFile(f, `canary ${shortPath(f.file)} is not beside ${shortPath(slot.file)}`);
    } else if (slot && slot.file !== f.file && !this.overrides(slot.file, f.file)) {
      return this.refuseFile(f, `CGI name "${f.name}" is already served by ${shortPath(slot.file)}; names must be unique across groups`);
    }
    if (!slot) {
      slot = new Slot(f.name, f.group, f.file, this.env);
      this.slots.set(f.name, slot);
    }
    this.fileErrors.delete(f.file);
    let compiled;
    try {
      const early = this.early.get(f.file);
      this.early.delete(f.file);
      compiled = await (early ?? compileCgi(f.file));
    } catch (e) {
      return this.failed(slot, f, e as Error);
    }
    const current = f.canary ? slot.canary : slot.stable;
    const wasFailing = this.failing.has(f.file);
    if (current?.version === compiled.version) {
      // Saved back to exactly what serves (a reverted broken edit): nothing to load, and nothing wrong any more.
      this.failing.delete(f.file);
      slot.lastError = undefined;
      if (wasFailing)
        this.env.log.info('CGI fixed: the version serving is unchanged', {
          cgi: f.name,
          version: compiled.version,
          file: shortPath(f.file),
        });
      return;
    }
    try {
      await slot.deploy(f.canary ? 'canary' : 'stable', compiled, f.file, (meta) => this.admit(f.name, meta));
      if (!f.canary) slot.group = f.group;
      this.failing.delete(f.file);
      this.retries.delete(f.file);
      this.env.log.info(
        wasFailing ? (current ? 'CGI fixed: the new version serves' : 'CGI fixed: serving again') : current ? 'CGI swapped' : 'CGI loaded',
        {
          cgi: f.name,
          version: compiled.version,
          ...(current ? { previous: current.version } : {}),
          canary: f.canary || undefined,
          file: shortPath(f.file),
        },
      );
      if (this.reloading) void this.checkTypes(slot, f, compiled);
      // A canary saved before its stable file, or left on disk while the stable file was away, loads now.
      if (!f.canary && !current) {
        const canaryFile = join(dirname(f.file), `${f.name}.canary.ts`);
        if (existsSync(canaryFile)) await this.load({ ...f, file: canaryFile, canary: true });
      }
    } catch (e) {
      this.failed(slot, f, e as Error);
    }
  }

  /** What a loaded file turned out to be must fit: one consumer per topic, a cron croner reads. */
  private admit(name: string, meta: UnitMeta): string | undefined {
    if (meta.kind === 'consumer') {
      for (const other of this.slots.values()) {
        const m = other.stable?.meta;
        if (other.name !== name && m?.kind === 'consumer' && m.topic === meta.topic) {
          return `topic "${meta.topic}" already has a consumer: ${other.name} (${shortPath(other.file)}); one consumer per topic`;
        }
      }
    } else if (meta.kind === 'schedule') {
      try {
        parseCron(meta.cron);
      } catch (e) {
        return `cron "${meta.cron}": ${(e as Error).message}`;
      }
    }
    return undefined;
  }

  /**
   * The types of a version just swapped in. The code is live already (a type check takes seconds; a save must be
   * live within one): type errors are reported, in the log and on the slot for the admin API, not refused.
   */
  private async checkTypes(slot: Slot, f: CgiFile, compiled: CompiledCgi): Promise<void> {
    if (!this.env.typeCheck) return;
    const ours = compiled.inputs.filter((p) => !this.isBuiltin(p));
    let issues: TypeIssue[];
    try {
      issues = (await this.env.typeCheck(ours)).filter((i) => ours.includes(i.file));
    } catch (e) {
      this.env.log.warn('type check failed', { cgi: f.name, error: (e as Error).message });
      return;
    }
    // A newer save may have replaced this version meanwhile: its own check reports.
    if ((f.canary ? slot.canary : slot.stable)?.version !== compiled.version) return;
    const had = slot.typeErrors.length;
    slot.typeErrors = issues.map((i) => ({ ...i, file: shortPath(i.file) }));
    if (issues.length) {
      this.env.log.warn('CGI has type errors (it is serving: hot reload loads code that compiles, and reports its types)', {
        cgi: f.name,
        version: compiled.version,
        file: shortPath(f.file),
        errors: issues.map((i) => formatIssue(i, shortPath(i.file))),
      });
    } else if (had) {
      this.env.log.info('CGI type errors fixed', { cgi: f.name, version: compiled.version, file: shortPath(f.file) });
    }
  }

  private retryLater(f: CgiFile): void {
    const n = (this.retries.get(f.file) ?? 0) + 1;
    this.retries.set(f.file, n);
    const delay = Math.min(30_000, 500 * 2 ** n);
    setTimeout(() => {
      if (this.failing.has(f.file)) void this.serial(f.name, () => this.load(f));
    }, delay).unref();
  }

  private isBuiltin(file: string): boolean {
    return this.builtinDir !== undefined && file.startsWith(this.builtinDir + sep);
  }

  /** A local file takes a built-in CGI's name; the built-in one takes it back once the local file is gone. */
  private overrides(current: string, next: string): boolean {
    if (this.isBuiltin(current)) return !this.isBuiltin(next);
    return this.isBuiltin(next) && !existsSync(current);
  }

  private failed(slot: Slot, f: CgiFile, e: Error): void {
    this.failing.set(f.file, f);
    // A worker that crashed or timed out while loading (an overloaded machine) is tried again; a refusal is final until the file changes.
    const refused = e instanceof CgiError && (e.code === 'CGI_COMPILE_FAILED' || e.code === 'CGI_REFUSED');
    if (!refused) this.retryLater(f);
    const at = compileFailure(e);
    const line = at ? at.line : lineIn(e.message, f.file);
    const file = at ? at.file : f.file;
    slot.loadFailed({ message: e.message, file, line, at: Date.now() });
    this.env.log.error(slot.stable ? 'CGI change refused; the previous version keeps serving' : 'CGI failed to load', {
      cgi: f.name,
      file: shortPath(file),
      line,
      error: e.message,
    });
  }
}

function lineIn(message: string, file: string): number | undefined {
  const i = message.indexOf(file + ':');
  if (i < 0) return undefined;
  const n = parseInt(message.slice(i + file.length + 1), 10);
  return Number.isFinite(n) ? n : undefined;
}
