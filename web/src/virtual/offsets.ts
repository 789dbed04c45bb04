/**
 * The arithmetic of a virtual list: where each item starts (prefix sums of
 * measured or estimated heights) and which items a viewport needs. Positions
 * are measured from the top of the first loaded item; the viewport is given
 * by its distance from the bottom of the last one, since a chat is read from
 * the bottom and older pages are added on top.
 */

/** offsets[i] is the top of item i; offsets[n] the height of all n items. */
export function prefixOffsets(heights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(heights.length + 1);
  for (let i = 0; i < heights.length; i++) out[i + 1] = out[i]! + heights[i]!;
  return out;
}

/** The first index i in [0, n] with offsets[i] > y (offsets ascending, n = offsets.length - 1). */
function firstAbove(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]! > y) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface Range {
  /** First item rendered. */
  start: number;
  /** One past the last item rendered. */
  end: number;
  /** Height above the viewport's top edge, from the top of item 0 (how far the user is from the oldest loaded item). */
  viewTop: number;
}

/**
 * The items that overlap the viewport widened by `overscan` pixels each way.
 * `fromBottom` is how far the viewport's bottom edge is above the last item's bottom.
 */
export function visibleRange(offsets: Float64Array, fromBottom: number, viewport: number, overscan: number): Range {
  const n = offsets.length - 1;
  const total = offsets[n]!;
  const viewBottom = total - Math.max(0, fromBottom);
  const viewTop = viewBottom - viewport;
  if (n === 0) return { start: 0, end: 0, viewTop };
  // The first item whose bottom is below the widened top edge, and the first whose top is below the widened bottom edge.
  const start = Math.max(0, Math.min(n - 1, firstAbove(offsets, viewTop - overscan) - 1));
  const end = Math.max(start + 1, Math.min(n, firstAbove(offsets, viewBottom + overscan - 0.001)));
  return { start, end, viewTop };
}

/** fromBottom that puts item i's middle in the middle of the viewport (clamped to the content). */
export function centerOn(offsets: Float64Array, i: number, viewport: number): number {
  const total = offsets[offsets.length - 1]!;
  const mid = (offsets[i]! + offsets[i + 1]!) / 2;
  return Math.max(0, Math.min(total - viewport, total - mid - viewport / 2));
}
