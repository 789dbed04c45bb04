/** "New group": a name and some contacts; the creator is the owner (SPEC §4 Groups). */
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { call } from '../api/client.ts';
import { refreshGroup } from '../state/directory.ts';
import { groupKey, newConversation } from '../state/inbox.ts';
import { chatHref, go } from '../state/route.ts';
import { getState, setState } from '../state/store.ts';
import { ContactChecklist, useChoice } from './contact-picker.tsx';
import { Dialog } from './dialog.tsx';

export function NewGroupDialog({ onClose }: { onClose(): void }): VNode {
  const [name, setName] = useState('');
  const [chosen, toggle] = useChoice();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  async function create(e: Event) {
    e.preventDefault();
    const n = name.trim();
    if (!n) return setError('Give the group a name.');
    setBusy(true);
    try {
      const r = await call('creategroup', { name: n, members: [...chosen] });
      const key = groupKey(r.groupId);
      const me = getState().session!.uid;
      setState((s) => ({
        conversations: { ...s.conversations, [key]: s.conversations[key] ?? newConversation(key, n) },
        groups: { ...s.groups, [r.groupId]: { groupId: r.groupId, name: n, owner: me, members: r.members, createdAt: Date.now() } },
      }));
      void refreshGroup(r.groupId, true);
      onClose();
      go(chatHref(key));
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Could not create the group.');
      setBusy(false);
    }
  }

  return (
    <Dialog title="New group" onClose={onClose}>
      <form onSubmit={(e) => void create(e)} class="dialog-form">
        <label class="field">
          <span>Group name</span>
          <input value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
        </label>
        <ContactChecklist chosen={chosen} onToggle={toggle} />
        <p class="form-error" role="alert">
          {error}
        </p>
        <footer class="dialog-foot">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy || !name.trim()}>
            Create group{chosen.size ? ` (${chosen.size + 1})` : ''}
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
