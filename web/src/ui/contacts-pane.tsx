/**
 * The Contacts pane (SPEC §6, §7): find a user by username and ask them to
 * be a contact, answer requests (Accept, Decline), the contact list, and the
 * people one has blocked.
 */
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, call } from '../api/client.ts';
import type { Profile } from '../api/types.ts';
import { acceptContact, addContact, declineContact, relation, unblockUser } from '../state/contacts.ts';
import { displayName, rememberProfiles } from '../state/directory.ts';
import { peerKey } from '../state/inbox.ts';
import { chatHref, contactHref, useRoute } from '../state/route.ts';
import { notify, useAppState } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { Icon } from './icons.tsx';

function FindUser(): VNode {
  const [username, setUsername] = useState('');
  const [found, setFound] = useState<Profile | null>(null);
  const [greeting, setGreeting] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useAppState((s) => s.contacts); // the relation shown below follows the contacts
  const me = useAppState((s) => s.profiles[s.session?.uid ?? '']);

  async function find(e: Event) {
    e.preventDefault();
    const name = username.trim().toLowerCase();
    if (!name) return;
    setBusy(true);
    setError('');
    setFound(null);
    try {
      const p = await call('finduser', { username: name });
      rememberProfiles([p]);
      setFound(p);
    } catch (err) {
      setError(
        err instanceof ApiError && (err.code === 'NO_SUCH_USER' || err.code === 'INVALID_INPUT')
          ? `No one is called “${name}”.`
          : String((err as Error).message),
      );
    } finally {
      setBusy(false);
    }
  }

  async function add(p: Profile) {
    setBusy(true);
    try {
      await addContact(p.uid, greeting.trim() || undefined);
      notify(relation(p.uid) === 'contact' ? `${p.displayName} is now a contact.` : `Request sent to ${p.displayName}.`, 'info');
      setGreeting('');
    } catch (err) {
      notify(
        err instanceof ApiError && err.code === 'BLOCKED'
          ? 'This person is not accepting requests from you.'
          : String((err as Error).message),
      );
    } finally {
      setBusy(false);
    }
  }

  const rel = found ? relation(found.uid) : 'none';
  return (
    <section class="find">
      <form class="find-form" onSubmit={(e) => void find(e)}>
        <div class="search-box">
          <Icon name="search" size={18} />
          <input
            type="search"
            aria-label="Find user"
            placeholder="Find user by username"
            autoCapitalize="none"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </div>
        <button type="submit" class="btn secondary" disabled={busy || !username.trim()}>
          Find
        </button>
      </form>
      {error && <p class="form-error">{error}</p>}
      {found && (
        <div class="found-card" aria-label="Search result">
          <Avatar id={found.uid} name={found.displayName} mediaId={found.avatarMediaId} size={48} />
          <div class="found-main">
            <strong>{found.displayName}</strong>
            <span class="muted">@{found.username}</span>
          </div>
          {rel === 'none' && (
            <div class="found-actions">
              <input
                class="input"
                aria-label="Greeting"
                placeholder={`Hi, I'm ${me?.displayName ?? 'here'}!`}
                maxLength={200}
                value={greeting}
                onInput={(e) => setGreeting(e.currentTarget.value)}
              />
              <button type="button" class="btn primary" disabled={busy} onClick={() => void add(found)}>
                Add contact
              </button>
            </div>
          )}
          {rel === 'outgoing' && <span class="muted">Request sent</span>}
          {rel === 'incoming' && (
            <button type="button" class="btn primary" onClick={() => void acceptContact(found.uid)}>
              Accept
            </button>
          )}
          {(rel === 'contact' || rel === 'me') && (
            <a class="btn secondary" href={chatHref(peerKey(found.uid))}>
              Message
            </a>
          )}
          {rel === 'blocked' && <span class="muted">Blocked</span>}
        </div>
      )}
    </section>
  );
}

function Requests(): VNode | null {
  const incoming = useAppState((s) => s.contacts?.incoming ?? []);
  const outgoing = useAppState((s) => s.contacts?.outgoing ?? []);
  const names = useAppState((s) => [...incoming, ...outgoing].map((r) => displayName(s, r.uid)).join('\n'));
  const profiles = useAppState((s) => s.profiles);
  const [busy, setBusy] = useState('');
  if (!incoming.length && !outgoing.length) return null;
  const nameList = names.split('\n');
  async function answer(uid: string, accept: boolean) {
    setBusy(uid);
    try {
      await (accept ? acceptContact(uid) : declineContact(uid));
    } catch (e) {
      notify(String((e as Error).message));
    } finally {
      setBusy('');
    }
  }
  return (
    <section class="requests">
      {incoming.length > 0 && (
        <>
          <h2 class="section-title">Contact requests</h2>
          <ul class="person-list" aria-label="Contact requests">
            {incoming.map((r, i) => (
              <li key={r.uid} class="request" aria-label={nameList[i]}>
                <Avatar id={r.uid} name={nameList[i]!} mediaId={profiles[r.uid]?.avatarMediaId} size={40} />
                <span class="person-main">
                  <strong>{nameList[i]}</strong>
                  <span class="muted">{r.greeting || 'Wants to be your contact'}</span>
                </span>
                <span class="person-actions">
                  <button type="button" class="btn primary small" disabled={busy === r.uid} onClick={() => void answer(r.uid, true)}>
                    Accept
                  </button>
                  <button type="button" class="btn ghost small" disabled={busy === r.uid} onClick={() => void answer(r.uid, false)}>
                    Decline
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      {outgoing.length > 0 && (
        <>
          <h2 class="section-title">Sent requests</h2>
          <ul class="person-list" aria-label="Sent requests">
            {outgoing.map((r, i) => (
              <li key={r.uid}>
                <Avatar id={r.uid} name={nameList[incoming.length + i]!} mediaId={profiles[r.uid]?.avatarMediaId} size={40} />
                <span class="person-main">
                  <strong>{nameList[incoming.length + i]}</strong>
                  <span class="muted">Waiting for an answer</span>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export function ContactsPane(): VNode {
  const route = useRoute();
  const contacts = useAppState((s) => s.contacts);
  const blockedNames = useAppState((s) => (s.contacts?.blocked ?? []).map((u) => displayName(s, u)).join('\n'));
  const list = [...(contacts?.contacts ?? [])].sort((a, b) => a.displayName.localeCompare(b.displayName));
  return (
    <div class="pane">
      <header class="pane-head">
        <h1>Contacts</h1>
      </header>
      <div class="pane-scroll">
        <FindUser />
        <Requests />
        <h2 class="section-title">My contacts</h2>
        {contacts && !list.length && <p class="empty small">No contacts yet. Find someone by their username above.</p>}
        <ul class="person-list contact-list" aria-label="Contact list">
          {list.map((c) => (
            <li key={c.uid} class={route.contact === c.uid ? 'active' : ''}>
              <a href={contactHref(c.uid)} class="person-link">
                <Avatar id={c.uid} name={c.displayName} mediaId={c.avatarMediaId} size={40} />
                <span class="person-main">
                  <strong>{c.displayName}</strong>
                  <span class="muted">@{c.username}</span>
                </span>
              </a>
            </li>
          ))}
        </ul>
        {!!contacts?.blocked.length && (
          <>
            <h2 class="section-title">Blocked</h2>
            <ul class="person-list" aria-label="Blocked users">
              {contacts.blocked.map((u, i) => (
                <li key={u}>
                  <Avatar id={u} name={blockedNames.split('\n')[i] ?? ''} size={40} />
                  <span class="person-main">
                    <strong>{blockedNames.split('\n')[i]}</strong>
                  </span>
                  <button type="button" class="btn ghost small" onClick={() => void unblockUser(u).catch((e: Error) => notify(e.message))}>
                    Unblock
                  </button>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </div>
  );
}
