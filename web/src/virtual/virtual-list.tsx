/**
 * A chat's message list that renders only what is on screen (plus a screen's
 * worth either side), however many messages are loaded.
 *
 * The scroller is `flex-direction: column-reverse`, so its scroll position is
 * kept from the bottom: it opens at the newest message without measuring
 * anything, and older pages added on top move nothing on screen. What would
 * move it (a message arriving below, a picture below growing as it loads)
 * is undone by keeping one visible item (the anchor) where it was, unless
 * the user sits at the bottom, where new messages should come into view.
 * Heights are measured once rendered (ResizeObserver) and estimated until
 * then; the space of the items not rendered is two spacers.
 */
import type { ComponentChildren, VNode } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef } from 'preact/hooks';
import { centerOn, prefixOffsets, visibleRange, type Range } from './offsets.ts';

const OVERSCAN = 500;
/** The rendered range moves in steps of this many items: fewer renders while scrolling, each adding a few rows. */
const STEP = 8;
/** Within this many pixels of the bottom the list follows new messages. */
const PINNED = 24;
/** Ask for older pages when the top of what is loaded is this many viewports away or less. */
const LOAD_AHEAD = 2;

export interface VirtualListProps<T> {
  items: T[];
  keyOf(item: T): string;
  estimate(item: T): number;
  render(item: T, index: number): VNode;
  /** Shown above the oldest loaded item (loading more, or the beginning of the conversation). */
  header?: ComponentChildren;
  label: string;
  onNearTop?(): void;
  /** Whether the user is at the newest message (changes only). */
  onPinnedChange?(pinned: boolean): void;
  /** A key to bring into view (a search result); changes to it jump. */
  focusKey?: string;
  /** Changes to it scroll to the newest message. */
  bottomRequest?: number;
}

export function VirtualList<T>(props: VirtualListProps<T>): VNode {
  const { items, keyOf, estimate } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const view = useRef({ fromBottom: 0, height: typeof window === 'undefined' ? 800 : window.innerHeight });
  const anchor = useRef<{ key: string; gap: number } | null>(null);
  const pinned = useRef(true);
  const rendered = useRef(new Map<string, HTMLElement>());
  const latest = useRef(props);
  latest.current = props;

  // Keys once per items array; offsets again only when a height or the items changed (a measurement
  // of a rendered item needs no render: the spacers sum only items that are not rendered).
  const layout = useRef<{ items: T[] | null; keys: string[]; offsets: Float64Array | null }>({ items: null, keys: [], offsets: null });
  const getOffsets = useCallback(() => {
    const l = layout.current;
    const list = latest.current.items;
    if (l.items !== list) {
      l.items = list;
      l.keys = list.map(latest.current.keyOf);
      l.offsets = null;
    }
    if (!l.offsets) {
      const h = new Float64Array(list.length);
      const known = heights.current;
      for (let i = 0; i < list.length; i++) h[i] = known.get(l.keys[i]!) ?? latest.current.estimate(list[i]!);
      l.offsets = prefixOffsets(h);
    }
    return l.offsets;
  }, []);
  const offsets = getOffsets();

  const range = snapped(visibleRange(offsets, view.current.fromBottom, view.current.height, OVERSCAN), items.length);
  const rangeRef = useRef(range);
  rangeRef.current = range;

  /** Where the user is: distance from the bottom, the anchor, whether to load older pages, and whether a render is due. */
  const readScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    view.current = { fromBottom: Math.max(0, -el.scrollTop), height: el.clientHeight || view.current.height };
    const isPinned = view.current.fromBottom <= PINNED;
    if (isPinned !== pinned.current) {
      pinned.current = isPinned;
      latest.current.onPinnedChange?.(isPinned);
    }
    anchor.current = pickAnchor(el, rendered.current);
    const next = snapped(visibleRange(getOffsets(), view.current.fromBottom, view.current.height, OVERSCAN), latest.current.items.length);
    if (next.viewTop < view.current.height * LOAD_AHEAD) latest.current.onNearTop?.();
    if (next.start !== rangeRef.current.start || next.end !== rangeRef.current.end) rerender(0);
  }, []);

  /** Keeps the anchor where it was on screen (unless following the bottom). */
  const holdAnchor = useCallback(() => {
    const el = scroller.current;
    const a = anchor.current;
    if (!el || !a || pinned.current) return;
    const node = rendered.current.get(a.key);
    if (!node) return;
    const gap = el.getBoundingClientRect().bottom - node.getBoundingClientRect().bottom;
    const moved = gap - a.gap;
    if (Math.abs(moved) >= 0.5) el.scrollTop -= moved;
  }, []);

  /** Records the heights of rendered items; returns whether any changed. */
  const measure = useCallback((nodes: Iterable<[string, HTMLElement]>) => {
    let changed = false;
    for (const [key, node] of nodes) {
      const h = node.offsetHeight;
      if (h > 0 && heights.current.get(key) !== h) {
        heights.current.set(key, h);
        changed = true;
      }
    }
    if (changed) layout.current.offsets = null;
    return changed;
  }, []);

  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver((entries) => {
            const nodes: Array<[string, HTMLElement]> = [];
            for (const e of entries) {
              const key = (e.target as HTMLElement).dataset.key;
              if (key && rendered.current.get(key) === e.target) nodes.push([key, e.target as HTMLElement]);
            }
            if (measure(nodes)) {
              holdAnchor();
              readScroll();
            }
          }),
    [measure, holdAnchor, readScroll],
  );
  useEffect(() => () => observer?.disconnect(), [observer]);

  const refFor = useCallback(
    (key: string) => (node: HTMLElement | null) => {
      const prev = rendered.current.get(key);
      if (prev && prev !== node) {
        observer?.unobserve(prev);
        rendered.current.delete(key);
      }
      if (node && prev !== node) {
        rendered.current.set(key, node);
        observer?.observe(node);
      }
    },
    [observer],
  );
  // One ref callback per key for the list's life: a new function each render would detach and reattach every item.
  const refs = useRef(new Map<string, (node: HTMLElement | null) => void>());
  const refOf = (key: string) => {
    let r = refs.current.get(key);
    if (!r) refs.current.set(key, (r = refFor(key)));
    return r;
  };

  // After every render: measure what was rendered, keep the anchor in place, and re-render if the range moved.
  useLayoutEffect(() => {
    measure(rendered.current);
    holdAnchor();
    readScroll();
  });

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    let frame = 0;
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), readScroll()));
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    const resize = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => readScroll());
    resize?.observe(el);
    return () => {
      el.removeEventListener('scroll', onScroll);
      resize?.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [readScroll]);

  // Jump to an item (a search result), once it is loaded.
  const focused = useRef<string | undefined>(undefined);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !props.focusKey || focused.current === props.focusKey) return;
    const i = items.findIndex((x) => keyOf(x) === props.focusKey);
    if (i < 0) return;
    focused.current = props.focusKey;
    pinned.current = false;
    el.scrollTop = -centerOn(offsets, i, view.current.height);
    readScroll();
  });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !props.bottomRequest) return;
    el.scrollTop = 0;
    pinned.current = true;
    readScroll();
  }, [props.bottomRequest]);

  const total = offsets[items.length]!;
  const children: VNode[] = [];
  for (let i = range.start; i < range.end && i < items.length; i++) {
    const item = items[i]!;
    const key = keyOf(item);
    const node = props.render(item, i);
    children.push(
      <li key={key} data-key={key} ref={refOf(key)} class="vitem">
        {node}
      </li>,
    );
  }
  return (
    <div class="vscroller" ref={scroller} tabIndex={0} data-count={items.length}>
      <div class="vinner">
        {props.header}
        <div style={{ height: `${offsets[range.start] ?? 0}px` }} aria-hidden="true" />
        <ul class="vlist" aria-label={props.label}>
          {children}
        </ul>
        <div style={{ height: `${Math.max(0, total - (offsets[Math.min(range.end, items.length)] ?? total))}px` }} aria-hidden="true" />
      </div>
    </div>
  );
}

/** The range widened to multiples of STEP (the end to the list's end when that is nearer). */
function snapped(r: Range, n: number): Range {
  const start = Math.floor(r.start / STEP) * STEP;
  const end = Math.min(n, Math.ceil(r.end / STEP) * STEP);
  return { ...r, start, end: Math.max(end, Math.min(n, start + 1)) };
}

/** The rendered item nearest the viewport's bottom edge that is on screen, and its distance from that edge. */
function pickAnchor(scroller: HTMLElement, rendered: Map<string, HTMLElement>): { key: string; gap: number } | null {
  const box = scroller.getBoundingClientRect();
  let best: { key: string; gap: number } | null = null;
  for (const [key, node] of rendered) {
    const r = node.getBoundingClientRect();
    if (r.bottom <= box.top || r.top >= box.bottom) continue;
    const gap = box.bottom - r.bottom;
    if (!best || Math.abs(gap) < Math.abs(best.gap)) best = { key, gap };
  }
  return best;
}
