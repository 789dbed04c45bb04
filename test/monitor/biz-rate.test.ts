/**
 * The rate a `biz` alert rule judges (SPEC §8): a counter's increase per
 * second over the last minute, counted from 0 when the metric appeared, so
 * that updates made before the monitor's first sample of it count too (a
 * counter that jumped in its first second once read 0 for a whole minute:
 * its alert never fired).
 */
import { describe, expect, it } from 'vitest';
import { BizMetrics } from '../../src/monitor/biz-metrics.js';

const counter = (name: string, value: number) => ({
  t: 'tally' as const,
  metrics: [{ kind: 'counter' as const, name, labels: [], value }],
});

describe('BizMetrics.rate', () => {
  it('counts a new counter from 0: 500 before the first sample is a rate of 500 per second', () => {
    const b = new BizMetrics();
    b.apply('shop', counter('orders', 500));
    const m = b.get('shop', 'orders')!;
    expect(b.rate(m)).toBeNull();
    b.sample();
    expect(b.rate(m)).toBe(500);
    b.sample();
    expect(b.rate(m)).toBe(250);
  });

  it('is the increase over the last minute, and 0 once a minute has passed without updates', () => {
    const b = new BizMetrics();
    b.apply('shop', counter('orders', 10));
    const m = b.get('shop', 'orders')!;
    for (let s = 0; s < 30; s++) b.sample();
    b.apply('shop', counter('orders', 120));
    b.sample();
    expect(b.rate(m)).toBeCloseTo(130 / 31);
    for (let s = 0; s < 60; s++) b.sample();
    expect(b.rate(m)).toBe(0);
  });
});
