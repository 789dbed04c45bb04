/** A round picture: the profile's avatar image, else initials on a colour taken from the id (stable per person or group). */
import type { VNode } from 'preact';
import { useMediaUrl } from '../state/media.ts';
import { Icon } from './icons.tsx';

const COLORS = ['#e17076', '#7bc862', '#65aadd', '#a695e7', '#ee7aae', '#6ec9cb', '#faa774', '#5fb99e'];

function colorOf(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return COLORS[h % COLORS.length]!;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = [...(words[0] ?? '?')][0] ?? '?';
  const second = words.length > 1 ? ([...words[words.length - 1]!][0] ?? '') : '';
  return (first + second).toUpperCase();
}

export function Avatar(props: { id: string; name: string; mediaId?: string; size?: number; group?: boolean }): VNode {
  const size = props.size ?? 44;
  const { url } = useMediaUrl(props.mediaId);
  const style = { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.38)}px`, background: colorOf(props.id) };
  return (
    <span class="avatar" style={style} aria-hidden="true">
      {url ? <img src={url} alt="" /> : props.group ? <Icon name="group" size={Math.round(size * 0.55)} /> : initials(props.name)}
    </span>
  );
}
