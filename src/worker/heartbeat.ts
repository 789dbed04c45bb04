/**
 * The worker's side of the shared heartbeat the host's watchdog reads: the
 * time of the last beat, the heap and external memory then, and the period
 * the worker beats at now.
 *
 * A worker that has work beats every `heartbeatMs`; one that had none since
 * its last beat beats half as often each time, down to IDLE_FACTOR times
 * slower. Each beat wakes a sleeping thread, and at 10 a second for each of a
 * host's 20-odd threads they were most of what an idle host spent (52 ms of
 * CPU a second here, 15 with this: bench/idle.mjs). Work arriving (a message from the host or the store) switches
 * back to the fast beat at once, so a worker given a request is watched as
 * closely as before; the watchdog's staleness bounds scale with the period
 * published beside the beat.
 */
import { getHeapStatistics } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { BEAT } from './protocol.js';

/** How much slower than heartbeatMs an idle worker beats at the slowest (100 ms → 1 s). */
export const IDLE_FACTOR = 10;
/** The share of the time between two beats the event loop spent running (a unit's own timers) that counts as work. */
const BUSY_SHARE = 0.05;

let beat: Float64Array | undefined;
let fastMs = 0;
let period = 0;
let worked = true;
let loop = performance.eventLoopUtilization();
let timer: NodeJS.Timeout | undefined;

/** Starts the beat: every `heartbeatMs` while the worker works, down to IDLE_FACTOR times slower while it does not. */
export function startHeartbeat(buffer: SharedArrayBuffer, heartbeatMs: number): void {
  beat = new Float64Array(buffer);
  fastMs = period = heartbeatMs;
  stamp();
  timer = setTimeout(tick, period).unref();
}

/** Work arrived (a message from the host or the store): beat at the fast rate from now on. One check while busy. */
export function workArrived(): void {
  if (worked || !beat) return;
  worked = true;
  if (period === fastMs) return;
  clearTimeout(timer);
  period = fastMs;
  stamp();
  timer = setTimeout(tick, period).unref();
}

function tick(): void {
  const now = performance.eventLoopUtilization();
  const busy = worked || performance.eventLoopUtilization(now, loop).utilization > BUSY_SHARE;
  loop = now;
  worked = false;
  period = busy ? fastMs : Math.min(period * 2, fastMs * IDLE_FACTOR);
  stamp();
  timer = setTimeout(tick, period).unref();
}

function stamp(): void {
  // Not process.memoryUsage(): it also reads the process's RSS from /proc on every call, and it is not this thread's.
  const heap = getHeapStatistics();
  beat![BEAT.time] = Date.now();
  beat![BEAT.heapUsed] = heap.used_heap_size;
  beat![BEAT.external] = heap.external_memory;
  beat![BEAT.periodMs] = period;
}
