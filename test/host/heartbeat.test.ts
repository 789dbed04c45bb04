/**
 * A worker's heartbeat slows down while the worker is idle (so an idle host's
 * 20-odd threads sleep) and speeds up as soon as work arrives, and the
 * watchdog's judgement of a worker that had slowed its beat is the same as of
 * one that had not: a stuck loop is ended, a slow async handler is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeartbeat, workArrived, IDLE_FACTOR } from '../../src/worker/heartbeat.js';
import { BEAT, BEAT_SLOTS } from '../../src/worker/protocol.js';
import { cgiSummary, expectError, type RunningHost, sleep, startHost, waitFor } from '../helpers/index.js';
import { timed } from './support.js';

describe('the beat of one thread (this test thread, its event loop otherwise idle)', () => {
  const FAST = 20;
  const beat = new Float64Array(new SharedArrayBuffer(BEAT_SLOTS * 8));
  const age = () => Date.now() - beat[BEAT.time]!;

  beforeAll(() => startHeartbeat(beat.buffer as SharedArrayBuffer, FAST));

  it('starts at heartbeatMs with the heap and external memory written', () => {
    expect(beat[BEAT.periodMs]).toBe(FAST);
    expect(age()).toBeLessThan(1_000);
    expect(beat[BEAT.heapUsed]).toBeGreaterThan(1_000_000);
    expect(beat[BEAT.external]).toBeGreaterThan(0);
  });

  it('slows down to IDLE_FACTOR x heartbeatMs while nothing happens, still beating at that period', async () => {
    await waitFor(() => beat[BEAT.periodMs] === FAST * IDLE_FACTOR, 5_000, 20);
    // Beats go on at the slow period: never older than one of them (and the timer's lateness).
    for (let i = 0; i < 8; i++) {
      expect(age()).toBeLessThan(FAST * IDLE_FACTOR + 150);
      await sleep(60);
    }
  });

  it('beats fast again the moment work arrives, with a fresh beat', () => {
    const before = beat[BEAT.time]!;
    workArrived();
    expect(beat[BEAT.periodMs]).toBe(FAST);
    expect(beat[BEAT.time]).toBeGreaterThanOrEqual(before);
    expect(age()).toBeLessThan(50);
  });

  it("counts the event loop's own work (a unit's timers) as work: the beat stays fast", async () => {
    await waitFor(() => beat[BEAT.periodMs]! > FAST, 5_000, 10);
    const spin = setInterval(() => {
      const end = performance.now() + 4;
      while (performance.now() < end);
    }, 5);
    try {
      await waitFor(() => beat[BEAT.periodMs] === FAST, 2_000, 5);
      await sleep(300);
      expect(beat[BEAT.periodMs]).toBe(FAST);
    } finally {
      clearInterval(spin);
    }
    await waitFor(() => beat[BEAT.periodMs] === FAST * IDLE_FACTOR, 5_000, 20);
  });

  it('reports external memory as it grows', async () => {
    const big = Buffer.alloc(48 * 1024 * 1024, 1);
    workArrived();
    await waitFor(() => beat[BEAT.external]! >= big.length, 2_000, 10);
    expect(big[big.length - 1]).toBe(1);
  });
});

describe('a host whose workers sat idle long enough to slow their beat (heartbeatMs 25: 250 ms idle)', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({
      files: { 'faults/loops.ts': '@faults/loops.ts', 'slow/slow.ts': '@slow/slow.ts', 'basic/echo.ts': '@basic/echo.ts' },
      config: { watch: false, cgis: { slow: { timeoutMs: 300 } }, faults: { crashLimit: 1000, heartbeatMs: 25 } },
    });
    // Every worker at its slowest beat (25, 50, 100, 200, 250 ms: ~0.6 s), and some more.
    await sleep(1_500);
  });
  afterAll(async () => {
    await host?.kill();
  });

  it('a slow async handler past its timeout gets 504 and its worker is kept (not taken for stuck)', async () => {
    const { value: res, ms } = await timed(() => host.post('slow', { ms: 2_000 }));
    expectError(res, 504, 'CGI_TIMEOUT');
    expect(ms).toBeLessThan(1_500);
    await sleep(300);
    expect((await cgiSummary(host, 'slow')).restarts).toBe(0);
    expect((await host.post('slow', { ms: 1 })).status).toBe(200);
  });

  it('a synchronous infinite loop gets 504 and its worker is replaced', async () => {
    await sleep(700);
    const { value: res, ms } = await timed(() => host.post('loops', { loop: true }));
    expectError(res, 504, 'CGI_TIMEOUT');
    expect(ms).toBeLessThan(2_500);
    await waitFor(async () => (await cgiSummary(host, 'loops')).restarts === 1, 3_000);
    expect((await host.post('loops', { loop: false })).body).toEqual({ ok: true });
    expect((await host.post('echo', { text: 'next door' })).status).toBe(200);
  });
});
