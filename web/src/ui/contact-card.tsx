/** A person: their name and picture, and what one can do: message, add, accept, remove, block or unblock. */
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { acceptContact, addContact, blockUser, declineContact, relation, removeContact, unblockUser } from '../state/contacts.ts';
import { needProfiles } from '../state/directory.ts';
import { peerKey } from '../state/inbox.ts';
import { chatHref, go } from '../state/route.ts';
import { notify, useAppState } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { Icon } from './icons.tsx';

export function ContactActions({ uid, inChat }: { uid: string; inChat?: boolean }): VNode {
  useAppState((s) => s.contacts);
  const name = useAppState((s) => s.profiles[uid]?.displayName ?? 'this person');
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<'remove' | 'block' | null>(null);
  const rel = relation(uid);

  async function run(what: () => Promise<void>, done?: string) {
    setBusy(true);
    setConfirming(null);
    try {
      await what();
      if (done) notify(done, 'info');
    } catch (e) {
      notify(String((e as Error).message));
    } finally {
      setBusy(false);
    }
  }

  if (rel === 'me') return <div class="actions" />;
  return (
    <div class="actions">
      {!inChat && rel !== 'blocked' && (
        <a class="btn primary" href={chatHref(peerKey(uid))}>
          <Icon name="chats" size={18} /> Send message
        </a>
      )}
      {rel === 'none' && (
        <button
          type="button"
          class="btn secondary"
          disabled={busy}
          onClick={() => void run(() => addContact(uid), `Request sent to ${name}.`)}
        >
          Add contact
        </button>
      )}
      {rel === 'incoming' && (
        <>
          <button type="button" class="btn primary" disabled={busy} onClick={() => void run(() => acceptContact(uid))}>
            Accept
          </button>
          <button type="button" class="btn ghost" disabled={busy} onClick={() => void run(() => declineContact(uid))}>
            Decline
          </button>
        </>
      )}
      {rel === 'outgoing' && <p class="muted">Contact request sent</p>}
      {rel === 'contact' &&
        (confirming === 'remove' ? (
          <div class="confirm">
            <span>Remove {name} from your contacts?</span>
            <button
              type="button"
              class="btn danger small"
              onClick={() => void run(() => removeContact(uid), `${name} was removed from your contacts.`)}
            >
              Remove
            </button>
            <button type="button" class="btn ghost small" onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" class="btn ghost" disabled={busy} onClick={() => setConfirming('remove')}>
            Remove contact
          </button>
        ))}
      {rel === 'blocked' ? (
        <button
          type="button"
          class="btn secondary"
          disabled={busy}
          onClick={() => void run(() => unblockUser(uid), `${name} is unblocked.`)}
        >
          Unblock
        </button>
      ) : confirming === 'block' ? (
        <div class="confirm">
          <span>Block {name}? They will not be able to message you.</span>
          <button type="button" class="btn danger small" onClick={() => void run(() => blockUser(uid), `${name} is blocked.`)}>
            Block
          </button>
          <button type="button" class="btn ghost small" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" class="btn danger-ghost" disabled={busy} onClick={() => setConfirming('block')}>
          <Icon name="block" size={18} /> Block
        </button>
      )}
    </div>
  );
}

export function ContactCard({ uid }: { uid: string }): VNode {
  const p = useAppState((s) => s.profiles[uid]);
  useEffect(() => needProfiles([uid]), [uid]);
  return (
    <section class="contact-card" aria-label={p?.displayName ?? 'Contact'}>
      <header class="chat-head">
        <a class="icon-btn back" href="#/contacts" aria-label="Back" onClick={(e) => (e.preventDefault(), go('#/contacts'))}>
          <Icon name="back" />
        </a>
        <div class="chat-title">
          <h2>Contact</h2>
        </div>
      </header>
      <div class="info-card big">
        <Avatar id={uid} name={p?.displayName ?? ''} mediaId={p?.avatarMediaId} size={112} />
        <h3>{p?.displayName ?? ''}</h3>
        <p class="muted">@{p?.username ?? ''}</p>
        <ContactActions uid={uid} />
      </div>
    </section>
  );
}
