/** Times and durations as a chat shows them. */
const time = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const date = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dateYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const longDay = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });

const startOfDay = (t: number) => new Date(t).setHours(0, 0, 0, 0);
const DAY = 86_400_000;

export const clock = (t: number) => time.format(t);

/** For the conversation list: the time today, the weekday this week, else the date. */
export function shortWhen(t: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(t)) / DAY);
  if (days <= 0) return time.format(t);
  if (days === 1) return 'Yesterday';
  if (days < 7) return weekday.format(t);
  return new Date(t).getFullYear() === new Date(now).getFullYear() ? date.format(t) : dateYear.format(t);
}

/** For the separator between days in a conversation. */
export function dayLabel(t: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(t)) / DAY);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return new Date(t).getFullYear() === new Date(now).getFullYear() ? longDay.format(t) : dateYear.format(t);
}

export const sameDay = (a: number, b: number) => startOfDay(a) === startOfDay(b);

/** 0:07, 1:05 */
export function duration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function spokenDuration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return s < 60 ? `${s} second${s === 1 ? '' : 's'}` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
