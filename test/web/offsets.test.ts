/** The virtual list's arithmetic (web/src/virtual/offsets.ts): which items a viewport measured from the bottom needs. */
import { describe, expect, it } from 'vitest';
import { centerOn, prefixOffsets, visibleRange } from '../../web/src/virtual/offsets.ts';

describe('virtual list offsets', () => {
  const offsets = prefixOffsets(Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? 100 : 50)));
  const total = offsets[10_000]!;

  it('sums heights into tops', () => {
    expect([...prefixOffsets([10, 20, 30])]).toEqual([0, 10, 30, 60]);
    expect(total).toBe(3334 * 100 + 6666 * 50);
  });

  it('at the bottom, takes the newest items and an overscan above them', () => {
    const r = visibleRange(offsets, 0, 800, 200);
    expect(r.end).toBe(10_000);
    // 1000 px of items above the bottom edge: about 15 items of 50/100 px.
    expect(r.end - r.start).toBeGreaterThanOrEqual(14);
    expect(r.end - r.start).toBeLessThanOrEqual(17);
    expect(offsets[r.start]!).toBeLessThanOrEqual(total - 1000);
    expect(r.viewTop).toBe(total - 800);
  });

  it('in the middle, covers the viewport and its overscan on both sides, and nothing far from it', () => {
    const fromBottom = total / 2;
    const r = visibleRange(offsets, fromBottom, 800, 300);
    const viewBottom = total - fromBottom;
    expect(offsets[r.start]!).toBeLessThanOrEqual(viewBottom - 800 - 300);
    expect(offsets[r.start + 1]!).toBeGreaterThan(viewBottom - 800 - 300);
    expect(offsets[r.end]!).toBeGreaterThanOrEqual(viewBottom + 300);
    expect(offsets[r.end - 1]!).toBeLessThan(viewBottom + 300);
    expect(r.end - r.start).toBeLessThan(40);
  });

  it('at the top, starts at the first item; an empty list renders nothing', () => {
    const r = visibleRange(offsets, total - 800, 800, 300);
    expect(r.start).toBe(0);
    expect(r.viewTop).toBe(0);
    expect(visibleRange(prefixOffsets([]), 0, 800, 300)).toMatchObject({ start: 0, end: 0 });
  });

  it('centres an item in the viewport, clamped to the content', () => {
    const i = 5_000;
    const fromBottom = centerOn(offsets, i, 800);
    const mid = (offsets[i]! + offsets[i + 1]!) / 2;
    expect(total - fromBottom - 400).toBeCloseTo(mid);
    expect(centerOn(offsets, 9_999, 800)).toBe(0);
    expect(centerOn(offsets, 0, 800)).toBe(total - 800);
  });
});
