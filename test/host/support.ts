/** Small helpers shared by the host-core tests (not a test file: vitest only runs *.test.ts). */
import { readFileSync } from 'node:fs';

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
