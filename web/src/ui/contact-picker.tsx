/** Choosing contacts (for a new group, or to add to one): a checkbox per contact, filtered as you type. */
import type { ComponentChildren, VNode } from 'preact';
import { useState } from 'preact/hooks';
import { useAppState } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { Dialog } from './dialog.tsx';

export function ContactChecklist(props: { exclude?: string[]; chosen: Set<string>; onToggle(uid: string): void }): VNode {
  const contacts = useAppState((s) => s.contacts?.contacts ?? []);
  const [filter, setFilter] = useState('');
  const f = filter.trim().toLowerCase();
  const list = contacts.filter(
    (c) => !props.exclude?.includes(c.uid) && (!f || c.displayName.toLowerCase().includes(f) || c.username.includes(f)),
  );
  return (
    <div class="checklist">
      <input
        type="search"
        class="input"
        aria-label="Filter contacts"
        placeholder="Filter contacts"
        value={filter}
        onInput={(e) => setFilter(e.currentTarget.value)}
      />
      {!contacts.length && <p class="empty">Add contacts first: only contacts can be picked here.</p>}
      <ul aria-label="Contacts to choose from">
        {list.map((c) => (
          <li key={c.uid}>
            <label class="check-row">
              <input type="checkbox" checked={props.chosen.has(c.uid)} onChange={() => props.onToggle(c.uid)} />
              <Avatar id={c.uid} name={c.displayName} mediaId={c.avatarMediaId} size={34} />
              <span>{c.displayName}</span>
              <span class="muted">@{c.username}</span>
            </label>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function useChoice(): [Set<string>, (uid: string) => void] {
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  return [
    chosen,
    (uid) =>
      setChosen((prev) => {
        const next = new Set(prev);
        if (!next.delete(uid)) next.add(uid);
        return next;
      }),
  ];
}

export function ContactPicker(props: {
  title: string;
  action: string;
  exclude?: string[];
  onDone(uids: string[]): void;
  children?: ComponentChildren;
}): VNode {
  const [chosen, toggle] = useChoice();
  return (
    <Dialog title={props.title} onClose={() => props.onDone([])}>
      <ContactChecklist exclude={props.exclude} chosen={chosen} onToggle={toggle} />
      <footer class="dialog-foot">
        <button type="button" class="btn ghost" onClick={() => props.onDone([])}>
          Cancel
        </button>
        <button type="button" class="btn primary" disabled={!chosen.size} onClick={() => props.onDone([...chosen])}>
          {props.action}
          {chosen.size ? ` (${chosen.size})` : ''}
        </button>
      </footer>
    </Dialog>
  );
}
