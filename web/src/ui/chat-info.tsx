/**
 * Beside a conversation: a group's members (the owner removes anyone, anyone
 * adds contacts or leaves), or the person of a 1:1 chat with their contact
 * actions.
 */
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { call } from '../api/client.ts';
import { displayName, refreshGroup } from '../state/directory.ts';
import { go } from '../state/route.ts';
import { notify, useAppState } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { ContactActions } from './contact-card.tsx';
import { ContactPicker } from './contact-picker.tsx';
import { Icon } from './icons.tsx';

export function ChatInfo({ convKey, onClose }: { convKey: string; onClose(): void }): VNode {
  return (
    <aside class="chat-info" aria-label="Details">
      <header class="pane-head">
        <h2>{convKey.startsWith('g:') ? 'Group info' : 'Contact info'}</h2>
        <button type="button" class="icon-btn" aria-label="Close details" onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      <div class="pane-scroll">
        {convKey.startsWith('g:') ? <GroupMembers groupId={convKey.slice(2)} /> : <PersonInfo uid={convKey.slice(2)} />}
      </div>
    </aside>
  );
}

function PersonInfo({ uid }: { uid: string }): VNode {
  const p = useAppState((s) => s.profiles[uid]);
  return (
    <div class="info-card">
      <Avatar id={uid} name={p?.displayName ?? ''} mediaId={p?.avatarMediaId} size={88} />
      <h3>{p?.displayName ?? ''}</h3>
      <p class="muted">@{p?.username ?? ''}</p>
      <ContactActions uid={uid} inChat />
    </div>
  );
}

function GroupMembers({ groupId }: { groupId: string }): VNode {
  const group = useAppState((s) => s.groups[groupId]);
  const me = useAppState((s) => s.session?.uid ?? '');
  const names = useAppState(
    (s) => Object.fromEntries((group?.members ?? []).map((u) => [u, displayName(s, u)])),
    (a, b) => JSON.stringify(a) === JSON.stringify(b),
  );
  const avatars = useAppState((s) => (group?.members ?? []).map((u) => s.profiles[u]?.avatarMediaId ?? '').join(','));
  const [adding, setAdding] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!group) return <p class="empty">Loading…</p>;
  const owner = group.owner === me;
  const member = group.members.includes(me);
  const avatarOf = (i: number) => avatars.split(',')[i] || undefined;

  async function remove(uids: string[], leaving = false) {
    setBusy(true);
    try {
      await call('delgroupmember', { groupId, members: uids });
      await refreshGroup(groupId, true);
      if (leaving) go('#/');
    } catch (e) {
      notify(e instanceof Error ? e.message : 'Could not change the group.');
    } finally {
      setBusy(false);
    }
  }

  async function add(uids: string[]) {
    setAdding(false);
    if (!uids.length) return;
    setBusy(true);
    try {
      await call('addgroupmember', { groupId, members: uids });
      await refreshGroup(groupId, true);
    } catch (e) {
      notify(e instanceof Error ? e.message : 'Could not add them.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="group-info">
      <div class="info-card">
        <Avatar id={groupId} name={group.name} group size={88} />
        <h3>{group.name}</h3>
        <p class="muted">
          {group.members.length} member{group.members.length === 1 ? '' : 's'}
        </p>
      </div>
      {member && (
        <button type="button" class="btn secondary wide" disabled={busy} onClick={() => setAdding(true)}>
          <Icon name="plus" size={18} /> Add members
        </button>
      )}
      <ul class="member-list" aria-label="Members">
        {group.members.map((u, i) => (
          <li key={u}>
            <Avatar id={u} name={names[u] ?? ''} mediaId={avatarOf(i)} size={36} />
            <span class="member-name">{names[u]}</span>
            {u === group.owner && <span class="tag">Owner</span>}
            {owner && u !== me && (
              <button
                type="button"
                class="btn small ghost"
                disabled={busy}
                aria-label={`Remove ${names[u]}`}
                onClick={() => void remove([u])}
              >
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {member && (
        <button type="button" class="btn danger-ghost wide" disabled={busy} onClick={() => void remove([me], true)}>
          Leave group
        </button>
      )}
      {adding && <ContactPicker title="Add members" action="Add" exclude={group.members} onDone={(uids) => void add(uids)} />}
    </div>
  );
}
