/** Entries in words: the preview line of the conversation list and the notices inside a conversation. */
import type { InboxEntry } from '../api/types.ts';
import { displayName } from '../state/directory.ts';
import type { Outgoing, State } from '../state/store.ts';
import { duration } from './format.ts';

/** Names in the middle of a sentence ("Alice added you and Bob"). */
function names(s: State, uids: string[]): string {
  const list = uids.map((u) => (u === s.session?.uid ? 'you' : displayName(s, u)));
  if (list.length <= 3) return list.join(', ').replace(/, ([^,]*)$/, ' and $1');
  return `${list.slice(0, 2).join(', ')} and ${list.length - 2} others`;
}

export function systemText(s: State, e: InboxEntry): string {
  const ev = e.event;
  if (!ev) return '';
  switch (ev.kind) {
    case 'group_created':
      return `${displayName(s, ev.by)} created the group`;
    case 'members_added':
      return `${displayName(s, ev.by)} added ${names(s, ev.members)}`;
    case 'members_removed': {
      const left = ev.members.length === 1 && ev.members[0] === ev.by;
      const text = left ? `${displayName(s, ev.by)} left the group` : `${displayName(s, ev.by)} removed ${names(s, ev.members)}`;
      return ev.owner ? `${text}. ${displayName(s, ev.owner)} ${ev.owner === s.session?.uid ? 'are' : 'is'} now the owner` : text;
    }
    case 'contact_added':
      return 'You are now contacts. Say hello!';
    case 'recalled':
      return `${displayName(s, ev.by)} recalled a message`;
    default:
      return '';
  }
}

/** What a message is, in a few words. */
export function messageSummary(e: { type: string; content?: string; durationMs?: number }): string {
  switch (e.type) {
    case 'text':
      return e.content ?? '';
    case 'image':
      return 'Photo';
    case 'video':
      return 'Video';
    case 'voice':
      return `Voice message${e.durationMs ? ` ${duration(e.durationMs)}` : ''}`;
    default:
      return '';
  }
}

export function preview(s: State, e: InboxEntry | undefined, group: boolean): string {
  if (!e) return '';
  if (e.type === 'system') return systemText(s, e);
  if (e.recalled) return `${displayName(s, e.from)} recalled a message`;
  const body = messageSummary(e);
  return group && e.from !== s.session?.uid ? `${displayName(s, e.from)}: ${body}` : body;
}

export function pendingPreview(o: Outgoing): string {
  return messageSummary(o);
}
