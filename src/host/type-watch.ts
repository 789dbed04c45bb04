/**
 * Type checks after hot reload, in their own thread (typecheck-worker.ts),
 * started on the first change and ended after a minute without one: a host
 * nobody edits pays nothing for it.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DIST_DIR } from './runtime-paths.js';
import type { TypeIssue } from './typecheck.js';

export interface TypeCheckRequest {
  id: number;
  files: string[];
  cgisDir: string;
}
export type TypeCheckReply = { id: number; issues: TypeIssue[] } | { id: number; error: string };

const IDLE_MS = 60_000;

export class TypeWatch {
  private worker?: Worker;
  private idle?: NodeJS.Timeout;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(i: TypeIssue[]): void; reject(e: Error): void }>();
  /** One check at a time: each reuses the program the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly cgisDir: string) {}

  /** Type errors of these files and what they import (in the cgis folder only). */
  check(files: string[]): Promise<TypeIssue[]> {
    const run = this.queue.then(() => this.send(files));
    this.queue = run.catch(() => {});
    return run;
  }

  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private send(files: string[]): Promise<TypeIssue[]> {
    clearTimeout(this.idle);
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<TypeIssue[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, files, cgisDir: this.cgisDir } satisfies TypeCheckRequest);
    }).finally(() => {
      if (this.pending.size === 0) {
        this.idle = setTimeout(() => void this.stop(), IDLE_MS);
        this.idle.unref();
      }
    });
  }

  private start(): Worker {
    const w = new Worker(join(DIST_DIR, 'typecheck-worker.js'), { name: 'cgihost-typecheck' });
    w.unref();
    w.on('message', (m: TypeCheckReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.issues);
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the type-check thread exited (code ${code})`)));
    return w;
  }
}
