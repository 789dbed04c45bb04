/**
 * Names and pictures: profiles (getprofiles, up to 100 a call, asked in one
 * batch per turn) and groups (getgroup). Each is asked once per session
 * unless something says it changed.
 */
import { ApiError, call, isRetryable } from '../api/client.ts';
import type { Profile } from '../api/types.ts';
import { getState, setState, type Conversation, type State } from './store.ts';

const asked = new Set<string>();
let wanted = new Set<string>();
let scheduled = false;

export function needProfiles(uids: Iterable<string>, again = false): void {
  for (const u of uids) {
    if (!u || (!again && (asked.has(u) || getState().profiles[u]))) continue;
    asked.add(u);
    wanted.add(u);
  }
  if (wanted.size && !scheduled) {
    scheduled = true;
    queueMicrotask(fetchProfiles);
  }
}

async function fetchProfiles(): Promise<void> {
  scheduled = false;
  const uids = [...wanted];
  wanted = new Set();
  for (let i = 0; i < uids.length; i += 100) {
    const batch = uids.slice(i, i + 100);
    try {
      const { profiles } = await call('getprofiles', { uids: batch });
      rememberProfiles(profiles);
    } catch (e) {
      // Asked again the next time something needs them.
      if (isRetryable(e)) for (const u of batch) asked.delete(u);
    }
  }
}

export function rememberProfiles(list: Profile[]): void {
  if (!list.length) return;
  setState((s) => {
    const profiles = { ...s.profiles };
    for (const p of list) profiles[p.uid] = p;
    return { profiles };
  });
}

const groupsAsked = new Set<string>();

export async function refreshGroup(groupId: string, force = false): Promise<void> {
  if (!force && groupsAsked.has(groupId)) return;
  groupsAsked.add(groupId);
  try {
    const g = await call('getgroup', { groupId });
    setState((s) => ({ groups: { ...s.groups, [groupId]: g } }));
    needProfiles(g.members);
  } catch (e) {
    if (isRetryable(e)) groupsAsked.delete(groupId);
    if (e instanceof ApiError && e.code === 'NOT_GROUP_MEMBER') {
      // Removed from it: the conversation stays readable, and says so instead of offering the composer.
      setState((s) => {
        const me = s.session?.uid;
        const known = s.groups[groupId];
        const name = known?.name ?? s.conversations[`g:${groupId}`]?.name ?? '';
        const members = (known?.members ?? []).filter((u) => u !== me);
        return {
          groups: { ...s.groups, [groupId]: { groupId, name, owner: known?.owner ?? '', members, createdAt: known?.createdAt ?? 0 } },
        };
      });
    }
  }
}

export function forgetDirectory(): void {
  asked.clear();
  groupsAsked.clear();
  wanted = new Set();
}

export function displayName(s: State, uid: string): string {
  if (uid === s.session?.uid) return 'You';
  const p = s.profiles[uid];
  return p?.displayName || p?.username || 'Someone';
}

/** A conversation's title: the group's or peer's current name, else what getconversations called it. */
export function conversationName(s: State, c: Conversation): string {
  if (c.groupId) return s.groups[c.groupId]?.name || c.name || 'Group';
  const p = c.peer ? s.profiles[c.peer] : undefined;
  if (c.peer === s.session?.uid) return p?.displayName || s.session?.username || 'Me';
  return p?.displayName || p?.username || c.name || 'Someone';
}
