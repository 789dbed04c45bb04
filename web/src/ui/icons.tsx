/** Line icons drawn inline (no icon font, nothing fetched): 24×24, stroke in currentColor. Decorative: controls carry the names. */
import type { VNode } from 'preact';

const paths = {
  chats: 'M4 5h16v11H8l-4 4z M8 9h8 M8 12h5',
  contacts:
    'M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z M2.5 20c.8-3.5 3.4-5.5 6.5-5.5s5.7 2 6.5 5.5 M16 4.5a3.5 3.5 0 0 1 0 6.5 M18 14.8c1.7.8 3 2.5 3.5 5.2',
  search: 'M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z M16.5 16.5 21 21',
  send: 'M4 12 20 4l-6 16-3-7z M11 13l9-9',
  attach: 'M20 11.5 12 19.5a5 5 0 0 1-7-7L13.5 4a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15 7.5',
  mic: 'M12 15a3 3 0 0 0 3-3V6a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3z M6 11a6 6 0 0 0 12 0 M12 17v4',
  back: 'M15 5l-7 7 7 7',
  plus: 'M12 5v14 M5 12h14',
  close: 'M6 6l12 12 M18 6 6 18',
  play: 'M8 5v14l11-7z',
  pause: 'M8 5v14 M16 5v14',
  info: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M12 11v6 M12 7.5v.5',
  more: 'M5 12h.01 M12 12h.01 M19 12h.01',
  check: 'M5 12.5l4.5 4.5L19 7',
  checks: 'M2 12.5 6.5 17 16 7 M10 15l2 2 9.5-10',
  clock: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M12 7v5l3 2',
  alert: 'M12 3 2 20h20z M12 10v4 M12 17v.5',
  group:
    'M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6z M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6z M2 19c.5-3 3-4.5 6-4.5s5.5 1.5 6 4.5 M14.5 14.6c.5-.1 1-.1 1.5-.1 3 0 5.5 1.5 6 4.5',
  down: 'M6 9l6 6 6-6',
  logout: 'M15 4h4v16h-4 M10 8l-4 4 4 4 M6 12h10',
  camera: 'M4 8h3l2-3h6l2 3h3v11H4z M12 17a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z',
  trash: 'M5 7h14 M10 7V4h4v3 M7 7l1 13h8l1-13',
  block: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M5.6 5.6l12.8 12.8',
  video: 'M3 6h13v12H3z M16 10l5-3v10l-5-3',
  undo: 'M9 14 4 9l5-5 M4 9h11a5 5 0 0 1 0 10h-3',
} as const;

export type IconName = keyof typeof paths;

export function Icon({ name, size = 22, class: cls }: { name: IconName; size?: number; class?: string }): VNode {
  return (
    <svg
      class={cls ? `icon ${cls}` : 'icon'}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={paths[name]} />
    </svg>
  );
}
