/**
 * The crash window and quarantine of a slot, on SlotHealth itself (no
 * workers): the verdict after each crash, the probe with backoff, probation,
 * and a new version saved while the old one is quarantined.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { SlotHealth } from '../../src/host/slot-health.js';
import type { WorkerPool } from '../../src/host/worker-pool.js';

const faults = ConfigSchema.parse({ faults: { crashLimit: 3, crashWindowMs: 10_000, probeInitialMs: 1_000, probeMaxMs: 4_000 } }).faults;
const pool = (kind: 'stable' | 'canary') => ({ kind }) as WorkerPool;

function health(probeWorks = true) {
  const events: string[] = [];
  const h = new SlotHealth(faults, {
    quarantined: (_p, ms) => events.push(`quarantined ${ms}`),
    probe: async () => {
      events.push('probe');
      if (!probeWorks) throw new Error('still broken');
      return true;
    },
    recovered: () => events.push('recovered'),
  });
  return { h, events };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SlotHealth', () => {
  it('replaces crashed workers with a growing delay, then quarantines at the crash limit', () => {
    const { h, events } = health();
    const p = pool('stable');
    h.loaded();
    expect(h.crashed(p)).toEqual({ do: 'replace', delayMs: 0 });
    expect(h.crashed(p)).toEqual({ do: 'replace', delayMs: 100 });
    expect(h.crashed(p)).toEqual({ do: 'quarantine' });
    expect(h.state).toBe('quarantined');
    expect(events).toEqual(['quarantined 1000']);
    h.stop();
  });

  it('forgets crashes older than the window', () => {
    vi.useFakeTimers();
    const { h } = health();
    const p = pool('stable');
    h.loaded();
    h.crashed(p);
    h.crashed(p);
    vi.advanceTimersByTime(10_001);
    expect(h.crashed(p)).toEqual({ do: 'replace', delayMs: 0 });
    expect(h.state).toBe('ready');
  });

  it('a canary that crashes too often is rolled back, and the slot stays ready', () => {
    const { h } = health();
    const c = pool('canary');
    h.loaded();
    h.crashed(c);
    h.crashed(c);
    expect(h.crashed(c)).toEqual({ do: 'roll-back-canary' });
    expect(h.state).toBe('ready');
  });

  it('probes after the delay; a crash on probation sends it straight back, with a longer delay', async () => {
    vi.useFakeTimers();
    const { h, events } = health();
    const p = pool('stable');
    h.loaded();
    for (let i = 0; i < 3; i++) h.crashed(p);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.state).toBe('ready');
    expect(events).toEqual(['quarantined 1000', 'probe', 'recovered']);
    expect(h.crashed(p)).toEqual({ do: 'quarantine' });
    expect(events.at(-1)).toBe('quarantined 2000');
    h.stop();
  });

  it('a probe that fails quarantines again, up to the longest delay', async () => {
    vi.useFakeTimers();
    const { h, events } = health(false);
    const p = pool('stable');
    h.loaded();
    for (let i = 0; i < 3; i++) h.crashed(p);
    await vi.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000 + 4_000);
    expect(events.filter((e) => e.startsWith('quarantined'))).toEqual([
      'quarantined 1000',
      'quarantined 2000',
      'quarantined 4000',
      'quarantined 4000',
      'quarantined 4000',
    ]);
    expect(h.state).toBe('quarantined');
    h.stop();
  });

  it('a new version going live while quarantined serves at once, on probation', async () => {
    vi.useFakeTimers();
    const { h, events } = health();
    const old = pool('stable');
    h.loaded();
    for (let i = 0; i < 3; i++) h.crashed(old);
    h.loaded();
    expect(h.state).toBe('ready');
    // No probe of the old version follows.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events).toEqual(['quarantined 1000']);
    // One crash of the new version soon after: back to quarantine.
    expect(h.crashed(pool('stable'))).toEqual({ do: 'quarantine' });
    h.stop();
  });

  it('a failed load marks only a slot with nothing serving as failed', () => {
    const { h } = health();
    h.loadFailed(false);
    expect(h.state).toBe('failed');
    h.loaded();
    h.loadFailed(true);
    expect(h.state).toBe('ready');
  });
});
