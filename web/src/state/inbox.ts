/**
 * What an inbox entry (from sync, a send's answer or a history page) does to
 * the client's state: pure functions, so the same entry applied twice (a
 * replay after a reload, a history page overlapping sync) changes nothing
 * the second time.
 */
import type { InboxEntry, InboxEvent } from '../api/types.ts';
import type { Conversation, ConvKey, PeerRead, State, Thread } from './store.ts';

export const GROUP_EVENTS = new Set(['group_created', 'members_added', 'members_removed']);
const MESSAGE_TYPES = new Set(['text', 'voice', 'image', 'video']);

export const peerKey = (uid: string): ConvKey => `u:${uid}`;
export const groupKey = (groupId: string): ConvKey => `g:${groupId}`;

export function target(key: ConvKey): { peer: string } | { groupId: string } {
  return key.startsWith('g:') ? { groupId: key.slice(2) } : { peer: key.slice(2) };
}

export function isMessage(e: InboxEntry): boolean {
  return MESSAGE_TYPES.has(e.type);
}

type EventOf<K extends InboxEvent['kind']> = Extract<InboxEvent, { kind: K }>;
function eventOf<K extends InboxEvent['kind']>(e: InboxEntry, ...kinds: K[]): EventOf<K> | undefined {
  return e.type === 'system' && e.event && (kinds as string[]).includes(e.event.kind) ? (e.event as EventOf<K>) : undefined;
}

/** Entries shown as a line in a conversation: messages, and group and contact changes. */
export function isShown(e: InboxEntry): boolean {
  return isMessage(e) || !!eventOf(e, 'group_created', 'members_added', 'members_removed', 'contact_added');
}

/**
 * The conversation an entry belongs to, if any: the group, or the other
 * person of a 1:1 entry (system entries carry from/to/groupId like messages
 * do); a contact request belongs to none.
 */
export function convKeyOf(e: InboxEntry, me: string): ConvKey | null {
  if (e.groupId) return groupKey(e.groupId);
  const group = eventOf(e, 'group_created', 'members_added', 'members_removed');
  if (group) return groupKey(group.groupId);
  if (eventOf(e, 'contact_request')) return null;
  const peer = e.from === me ? e.to : e.from;
  if (peer) return peerKey(peer);
  // Only from the event when the entry does not say.
  const read = eventOf(e, 'read');
  if (read) return read.groupId ? groupKey(read.groupId) : read.peer ? peerKey(read.peer) : null;
  const other = eventOf(e, 'receipt', 'contact_added');
  return other ? peerKey(other.by) : null;
}

/** Counts toward a conversation's unread badge (SPEC §6: text, voice, image and video from others). */
export const countsUnread = (e: InboxEntry, me: string) => isMessage(e) && e.from !== me;

export function newConversation(key: ConvKey, name = ''): Conversation {
  return key.startsWith('g:')
    ? { key, groupId: key.slice(2), name, lastSeq: 0, readSeq: 0, unread: 0 }
    : { key, peer: key.slice(2), name, lastSeq: 0, readSeq: 0, unread: 0 };
}

/** Inserts entries into a thread, oldest first, each seq once; entries older than a thread with more to load would leave a gap and are skipped. */
export function mergeIntoThread(thread: Thread, entries: InboxEntry[]): Thread {
  const shown = entries.filter(isShown);
  if (!shown.length) return thread;
  const oldest = thread.messages[0]?.seq ?? Infinity;
  const fits = shown.filter((e) => !thread.more || e.seq >= oldest || thread.messages.length === 0);
  if (!fits.length) return thread;
  const last = thread.messages[thread.messages.length - 1]?.seq ?? 0;
  // Common case: one or more newer entries at the end.
  if (fits.every((e, i) => e.seq > (i ? fits[i - 1]!.seq : last))) return { ...thread, messages: [...thread.messages, ...fits] };
  const bySeq = new Map(thread.messages.map((m) => [m.seq, m]));
  for (const e of fits) bySeq.set(e.seq, e);
  return { ...thread, messages: [...bySeq.values()].sort((a, b) => a.seq - b.seq) };
}

/** A message with its recall applied: SPEC §6 shows it without content, media or duration. */
export function recalled(e: InboxEntry): InboxEntry {
  const { content: _c, mediaId: _m, durationMs: _d, ...rest } = e;
  return { ...rest, recalled: true } as InboxEntry;
}

export interface Effects {
  /** Contacts changed (a request, an acceptance). */
  contacts: boolean;
  /** Groups whose name or members may have changed. */
  groups: Set<string>;
  /** Users the client should know by name. */
  profiles: Set<string>;
  /** A read position moved past what the client can count itself: re-read unread counts. */
  conversations: boolean;
  /** Conversations that received entries from someone else. */
  arrived: Set<ConvKey>;
}

export const noEffects = (): Effects => ({
  contacts: false,
  groups: new Set(),
  profiles: new Set(),
  conversations: false,
  arrived: new Set(),
});

type Inbox = Pick<State, 'conversations' | 'threads' | 'outbox' | 'peerRead' | 'replayBelow' | 'groups'>;

/** Applies entries in seq order; returns the changed parts of the state and what should be fetched. */
export function applyEntries(s: Inbox, me: string, entries: InboxEntry[]): { patch: Partial<State>; effects: Effects } {
  const conversations = { ...s.conversations };
  const threads = { ...s.threads };
  const peerRead = { ...s.peerRead };
  let groups = s.groups;
  const confirmed = new Set<string>();
  const recalls = new Set<string>();
  const effects = noEffects();
  const byKey = new Map<ConvKey, InboxEntry[]>();

  for (const e of entries) {
    const key = convKeyOf(e, me);
    const receipt = eventOf(e, 'receipt');
    if (receipt && key) {
      const prev = peerRead[key];
      if (!prev || prev.atSeq < e.seq) peerRead[key] = { upTo: receipt.upTo, atSeq: e.seq };
      continue;
    }
    // Already counted by getconversations on a first sign-in: only receipts matter.
    if (e.seq <= s.replayBelow) continue;
    const recall = eventOf(e, 'recalled');
    if (recall) recalls.add(recall.msgId);
    if (eventOf(e, 'contact_request', 'contact_added')) effects.contacts = true;
    const read = eventOf(e, 'read');
    if (read && key) {
      const c = conversations[key];
      if (c && read.seq > c.readSeq) {
        const unread = read.seq >= c.lastSeq ? 0 : countUnread(threads[key], read.seq, me);
        if (unread === null) effects.conversations = true;
        conversations[key] = { ...c, readSeq: read.seq, unread: unread ?? c.unread };
      }
      continue;
    }
    // Every other entry of a conversation moves it up (a recall notice too, as getconversations counts it).
    if (!key) continue;
    const group = eventOf(e, 'group_created', 'members_added', 'members_removed');
    if (group) {
      for (const u of group.members) effects.profiles.add(u);
      const known = groups[group.groupId];
      if (group.kind === 'members_removed' && group.members.includes(me)) {
        // No longer a member: getgroup would refuse; what is known stays, without me.
        if (known) groups = { ...groups, [group.groupId]: { ...known, members: known.members.filter((u) => !group.members.includes(u)) } };
        effects.groups.delete(group.groupId);
      } else {
        effects.groups.add(group.groupId);
      }
    }
    if (e.from !== me) effects.profiles.add(e.from);
    if (e.from === me && e.clientMsgId) confirmed.add(e.clientMsgId);
    const c = conversations[key] ?? newConversation(key);
    if (e.seq > c.lastSeq) {
      const unread = c.unread + (countsUnread(e, me) && e.seq > c.readSeq ? 1 : 0);
      conversations[key] = { ...c, lastMessage: e, lastSeq: e.seq, unread };
      if (countsUnread(e, me)) effects.arrived.add(key);
    }
    if (!isShown(e)) continue;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(e);
  }
  for (const [key, list] of byKey) if (threads[key]) threads[key] = mergeIntoThread(threads[key]!, list);
  if (recalls.size) applyRecalls(conversations, threads, recalls);

  const patch: Partial<State> = { conversations, threads, peerRead, groups };
  if (confirmed.size) patch.outbox = s.outbox.filter((o) => !confirmed.has(o.clientMsgId));
  return { patch, effects };
}

export function applyRecalls(conversations: Record<ConvKey, Conversation>, threads: Record<ConvKey, Thread>, ids: Set<string>): void {
  for (const [key, t] of Object.entries(threads)) {
    if (!t.messages.some((m) => ids.has(m.msgId) && !m.recalled)) continue;
    threads[key] = { ...t, messages: t.messages.map((m) => (ids.has(m.msgId) && !m.recalled ? recalled(m) : m)) };
  }
  for (const [key, c] of Object.entries(conversations)) {
    if (c.lastMessage && ids.has(c.lastMessage.msgId) && !c.lastMessage.recalled) {
      conversations[key] = { ...c, lastMessage: recalled(c.lastMessage) };
    }
  }
}

/** Unread messages after readSeq, or null when the loaded thread does not reach back that far. */
export function countUnread(thread: Thread | undefined, readSeq: number, me: string): number | null {
  if (!thread) return null;
  const first = thread.messages[0];
  if (thread.more && (!first || first.seq > readSeq + 1)) return null;
  return thread.messages.filter((m) => m.seq > readSeq && countsUnread(m, me) && !m.recalled).length;
}

/** The seq (in my inbox) of the newest of my messages the peer has read, from the receipt and the loaded thread. */
export function readUpToSeq(read: PeerRead | undefined, thread: Thread | undefined): number {
  if (!read) return 0;
  const m = thread?.messages.find((x) => x.msgId === read.upTo);
  if (m) return m.seq;
  // Older than the loaded pages: nothing loaded is read yet.
  if (thread?.more && thread.messages.length) return Math.min(read.atSeq, thread.messages[0]!.seq - 1);
  return read.atSeq;
}
