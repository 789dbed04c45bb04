/** Small helpers shared by the host-core tests (not a test file: vitest only runs *.test.ts). */
import { readFileSync } from 'node:fs';
import type { RunningHost } from '../helpers/host.js';

export interface CgiSummary {
  name: string;
  group: string;
  file: string;
  version: string | null;
  state: 'loading' | 'ready' | 'failed' | 'quarantined';
  restarts: number;
  inflight: number;
  lastError: { message: string; file: string; line?: number; at: number } | null;
}

export interface CgisAnswer {
  cgis: CgiSummary[];
  refused: Array<{ message: string; file: string; line?: number; at: number }>;
}

/** GET /_host/api/cgis (served to loopback clients when no admin token is configured). */
export async function adminCgis(host: RunningHost): Promise<CgisAnswer> {
  const res = await host.get('/_host/api/cgis');
  if (res.status !== 200) throw new Error(`/_host/api/cgis answered ${res.status}: ${res.text}`);
  return res.body as CgisAnswer;
}

export async function cgiSummary(host: RunningHost, name: string): Promise<CgiSummary> {
  const found = (await adminCgis(host)).cgis.find((c) => c.name === name);
  if (!found) throw new Error(`${name} is not in /_host/api/cgis`);
  return found;
}

/** Resident and peak resident memory of a process, in MB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/**
 * Watches a process's peak RSS: VmHWM is the kernel's own peak, and VmRSS
 * sampled every 20 ms shows the figure while it happens. peakMb() is the
 * larger of the two so far.
 */
export function rssWatch(pid: number): { peakMb(): number; stop(): void } {
  let sampled = 0;
  const timer = setInterval(() => {
    try {
      sampled = Math.max(sampled, memoryOf(pid).rssMb);
    } catch {
      /* the process is gone */
    }
  }, 20);
  return { peakMb: () => Math.max(sampled, memoryOf(pid).peakMb), stop: () => clearInterval(timer) };
}

/** Times an async call. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

export const HEX12 = /^[0-9a-f]{12}$/;
